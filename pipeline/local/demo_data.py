"""Deterministic generator of the chatbot platform's MongoDB source data.

The platform stores three collections per regional cluster:

* ``answers``: FAQ answers, per client and language (20-60 per client and language in use);
* ``conversations``: one per chat session, with skewed client/language/device mixes,
  nested ``meta`` and free-form ``variables`` (and, rarely, extra top-level fields);
* ``messages``: the bot/chatter/agent messages of a conversation; bot messages carry a
  ``Decimal128`` confidence and, when an FAQ answer was used, its ``answer_id``.

:func:`generate` is pure and deterministic for a :class:`DemoDataSpec` (ObjectIds included:
they are built from the seeded RNG and the document's timestamp).  :func:`seed_database`
writes the data into a database; :func:`update_documents` simulates later production changes
(``updated_at`` bumps) so incremental extraction can be exercised.

Every datetime is naive UTC with millisecond precision (what BSON stores).  The source
servers used in development (SecantusDB) are slow and do not push ``limit`` down, so
everything here reads by indexed ranges on ``updated_at`` (or by ``_id`` /
``conversation_id``) and never pages with skip/limit or counts server-side.
"""

from __future__ import annotations

import bisect
import calendar
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from bson import Decimal128, ObjectId
from pymongo import ASCENDING, UpdateOne

from pipeline.catalog import catalog

__all__ = [
    "BATCH_SIZE",
    "CLIENTS",
    "LANGUAGES",
    "DemoDataSpec",
    "generate",
    "seed_database",
    "update_documents",
]

#: Maximum number of documents in one batch yielded by :func:`generate`.
BATCH_SIZE = 5000

_MS_PER_DAY = 86_400_000
_MS_PER_HOUR = 3_600_000
#: Answers are (bulk) created during the first minute of the window; conversations of the
#: first day start after that, so no message references an answer that does not exist yet.
_ANSWERS_CREATED_WITHIN_MS = 60_000


# --------------------------------------------------------------------------------------
# Spec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDataSpec:
    """What to generate.  ``start`` is the first day (naive UTC, normally midnight)."""

    region: str
    start: datetime
    days: int = 3
    conversations_per_day: int = 2000
    seed: int = 7

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.conversations_per_day < 0:
            raise ValueError(f"conversations_per_day must be >= 0, got {self.conversations_per_day}")
        object.__setattr__(self, "start", _to_naive_utc_ms(self.start))

    @property
    def end(self) -> datetime:
        """Exclusive upper bound of every datetime generated (``start + days + 1 day``:
        conversations of the last day may spill over midnight)."""
        return self.start + timedelta(days=self.days + 1)


def _to_naive_utc_ms(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


# --------------------------------------------------------------------------------------
# Small fast helpers
# --------------------------------------------------------------------------------------


class _Weighted:
    """Weighted choice via bisect on cumulative weights (much cheaper than random.choices)."""

    __slots__ = ("_cum", "_total", "items")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        items, cum, acc = [], [], 0.0
        for item, weight in pairs:
            if weight <= 0:
                continue
            acc += weight
            items.append(item)
            cum.append(acc)
        if not items:
            raise ValueError("no positive weight")
        cum[-1] = float("inf")  # guards against float rounding at the top end
        self.items = tuple(items)
        self._cum = cum
        self._total = acc

    def pick(self, rnd: Callable[[], float]) -> Any:
        return self.items[bisect.bisect_right(self._cum, rnd() * self._total)]


class _IdFactory:
    """ObjectIds from a seeded RNG: 4-byte timestamp, 5 'machine' bytes, 3-byte counter.

    Unique within one factory (the counter only wraps after 16.7M ids), deterministic for
    the RNG state it is created from.
    """

    __slots__ = ("_counter", "_machine")

    def __init__(self, rng: random.Random) -> None:
        self._machine = rng.getrandbits(40) << 24
        self._counter = rng.getrandbits(24)

    def __call__(self, epoch_seconds: int) -> ObjectId:
        self._counter = counter = (self._counter + 1) & 0xFFFFFF
        return ObjectId(((epoch_seconds << 64) | self._machine | counter).to_bytes(12, "big"))


_CONFIDENCE_CACHE: dict[int, Decimal128] = {}


def _confidence(ten_thousandths: int) -> Decimal128:
    """Decimal128 with 4 decimals, cached (Decimal128 instances are immutable)."""
    value = _CONFIDENCE_CACHE.get(ten_thousandths)
    if value is None:
        value = Decimal128(f"{ten_thousandths // 10000}.{ten_thousandths % 10000:04d}")
        _CONFIDENCE_CACHE[ten_thousandths] = value
    return value


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------

LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ja")
_LANGUAGE_WEIGHTS = {"en": 45, "fr": 20, "de": 10, "es": 9, "it": 6, "pt": 4, "nl": 3, "ja": 3}

#: client -> (popularity weight, languages in use, bot name)
_CLIENT_PROFILES: dict[str, tuple[float, tuple[str, ...], str]] = {
    "acme": (38, LANGUAGES, "Ava"),
    "globex": (25, ("en", "fr", "de", "es", "it"), "Max"),
    "initech": (17, ("en", "de", "nl"), "Ini"),
    "umbrella": (12, ("en", "fr", "es", "pt", "ja"), "Una"),
    "hooli": (8, ("en", "fr", "ja", "de"), "Holly"),
}
CLIENTS = tuple(_CLIENT_PROFILES)


def _fit_language_weights(iterations: int = 50) -> dict[str, dict[str, float]]:
    """Per-client language weights such that the overall mix matches ``_LANGUAGE_WEIGHTS``
    although clients only use a subset of the languages (iterative proportional fitting)."""
    total_target = sum(_LANGUAGE_WEIGHTS.values())
    target = {lang: w / total_target for lang, w in _LANGUAGE_WEIGHTS.items()}
    client_total = sum(p[0] for p in _CLIENT_PROFILES.values())
    base = dict(target)
    for _ in range(iterations):
        realised = dict.fromkeys(LANGUAGES, 0.0)
        for weight, languages, _bot in _CLIENT_PROFILES.values():
            norm = sum(base[lang] for lang in languages)
            for lang in languages:
                realised[lang] += weight / client_total * base[lang] / norm
        base = {lang: base[lang] * target[lang] / realised[lang] for lang in LANGUAGES}
    return {client: {lang: base[lang] for lang in languages}
            for client, (_w, languages, _b) in _CLIENT_PROFILES.items()}


_CLIENT_LANGUAGE_WEIGHTS = _fit_language_weights()

_DEVICE = _Weighted([("mobile", 60), ("desktop", 32), ("tablet", 8)])
_PLATFORM_BY_DEVICE = {
    "mobile": _Weighted([("web", 35), ("ios", 24), ("android", 26), ("messenger", 8), ("whatsapp", 7)]),
    "desktop": _Weighted([("web", 91), ("messenger", 9)]),
    "tablet": _Weighted([("web", 50), ("ios", 35), ("android", 15)]),
}
#: devices a platform can run on (used when update_documents changes a device)
_DEVICES_BY_PLATFORM = {
    "web": ("mobile", "desktop", "tablet"),
    "ios": ("mobile", "tablet"),
    "android": ("mobile", "tablet"),
    "messenger": ("mobile", "desktop"),
    "whatsapp": ("mobile",),
}
_BROWSER = {
    ("web", "desktop"): _Weighted([("Chrome", 62), ("Edge", 14), ("Safari", 12), ("Firefox", 12)]),
    ("web", "mobile"): _Weighted([("Chrome", 55), ("Safari", 40), ("Samsung Internet", 5)]),
    ("web", "tablet"): _Weighted([("Safari", 60), ("Chrome", 40)]),
}
_APP_BROWSER = {"ios": "WKWebView", "android": "Android WebView", "messenger": None, "whatsapp": None}
_APP_VERSIONS = {
    "web": _Weighted([("widget-3.14.2", 60), ("widget-3.13.0", 30), ("widget-3.9.7", 10)]),
    "ios": _Weighted([("5.12.3", 50), ("5.12.1", 25), ("5.11.0", 15), ("4.9.8", 10)]),
    "android": _Weighted([("5.12.2", 45), ("5.11.4", 30), ("5.10.0", 15), ("4.9.9", 10)]),
    "messenger": _Weighted([("fb-2.3", 100)]),
    "whatsapp": _Weighted([("wa-1.8", 80), (None, 20)]),
}
_REFERRERS = (
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
)
_REFERRER_PATHS = ("/help", "/pricing", "/checkout", "/account/orders", "/", "/fr/aide", "/de/hilfe")

_COUNTRIES_BY_LANGUAGE: dict[str, list[tuple[str, float]]] = {
    "fr": [("FR", 70), ("BE", 12), ("CA", 10), ("CH", 8)],
    "de": [("DE", 80), ("AT", 12), ("CH", 8)],
    "es": [("ES", 50), ("MX", 30), ("AR", 10), ("CO", 10)],
    "it": [("IT", 95), ("CH", 5)],
    "pt": [("BR", 70), ("PT", 30)],
    "nl": [("NL", 80), ("BE", 20)],
    "ja": [("JP", 100)],
}
_EN_COUNTRIES_BY_REGION = {
    "us": [("US", 70), ("CA", 15), ("GB", 5), ("AU", 4), ("IN", 6)],
    "eu": [("GB", 45), ("IE", 10), ("US", 20), ("DE", 5), ("NL", 5), ("SE", 5), ("IN", 10)],
    "ap": [("AU", 30), ("SG", 20), ("IN", 25), ("US", 15), ("NZ", 10)],
}
#: local-time activity profile (hour 0..23); shifted to UTC per region
_LOCAL_HOUR_WEIGHTS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 3.0, 4.2, 4.8, 5.0,
    4.8, 4.9, 5.0, 4.8, 4.5, 4.2, 4.0, 4.3, 4.5, 3.8, 2.6, 1.6,
)  # fmt: skip


def _region_family(region: str) -> str:
    r = region.lower()
    if r.startswith(("us", "na", "ca")):
        return "us"
    if r.startswith(("ap", "jp", "asia", "au", "sg")):
        return "ap"
    return "eu"


_REGION_UTC_OFFSET_HOURS = {"us": -5, "eu": 1, "ap": 9}

# FAQ topics, translated.  Titles are "topic + variant" so a client/language can have up to
# 24 * 3 = 72 distinct titles.
_TOPICS: dict[str, tuple[str, ...]] = {
    "en": (
        "Reset my password", "Change my email address", "Update my payment method",
        "Cancel my subscription", "Track my order", "Return an item", "Request a refund",
        "Delivery times and costs", "Contact customer support", "Delete my account",
        "Change my delivery address", "Apply a discount code", "Download my invoice",
        "Enable two-factor authentication", "Upgrade my plan", "Opening hours",
        "Report a damaged product", "Change the language settings", "Privacy and personal data",
        "Payment declined", "Manage notifications", "Gift cards", "Exchange a product",
        "Problems logging in",
    ),
    "fr": (
        "Réinitialiser mon mot de passe", "Changer mon adresse e-mail", "Mettre à jour mon moyen de paiement",
        "Résilier mon abonnement", "Suivre ma commande", "Retourner un article", "Demander un remboursement",
        "Délais et frais de livraison", "Contacter le service client", "Supprimer mon compte",
        "Modifier mon adresse de livraison", "Utiliser un code promo", "Télécharger ma facture",
        "Activer la double authentification", "Changer d'offre", "Horaires d'ouverture",
        "Signaler un produit endommagé", "Changer la langue", "Confidentialité et données personnelles",
        "Paiement refusé", "Gérer les notifications", "Cartes cadeaux", "Échanger un produit",
        "Problèmes de connexion",
    ),
    "de": (
        "Passwort zurücksetzen", "E-Mail-Adresse ändern", "Zahlungsmethode aktualisieren",
        "Abonnement kündigen", "Bestellung verfolgen", "Artikel zurücksenden", "Rückerstattung beantragen",
        "Lieferzeiten und -kosten", "Kundenservice kontaktieren", "Konto löschen",
        "Lieferadresse ändern", "Gutscheincode einlösen", "Rechnung herunterladen",
        "Zwei-Faktor-Authentifizierung aktivieren", "Tarif upgraden", "Öffnungszeiten",
        "Beschädigtes Produkt melden", "Spracheinstellungen ändern", "Datenschutz und persönliche Daten",
        "Zahlung abgelehnt", "Benachrichtigungen verwalten", "Geschenkkarten", "Produkt umtauschen",
        "Probleme bei der Anmeldung",
    ),
    "es": (
        "Restablecer mi contraseña", "Cambiar mi correo electrónico", "Actualizar el método de pago",
        "Cancelar mi suscripción", "Seguir mi pedido", "Devolver un artículo", "Solicitar un reembolso",
        "Plazos y gastos de envío", "Contactar con atención al cliente", "Eliminar mi cuenta",
        "Cambiar la dirección de entrega", "Aplicar un código de descuento", "Descargar mi factura",
        "Activar la verificación en dos pasos", "Mejorar mi plan", "Horario de atención",
        "Informar de un producto dañado", "Cambiar el idioma", "Privacidad y datos personales",
        "Pago rechazado", "Gestionar las notificaciones", "Tarjetas regalo", "Cambiar un producto",
        "Problemas para iniciar sesión",
    ),
    "it": (
        "Reimpostare la password", "Cambiare l'indirizzo e-mail", "Aggiornare il metodo di pagamento",
        "Disdire l'abbonamento", "Tracciare il mio ordine", "Restituire un articolo",
        "Richiedere un rimborso",
        "Tempi e costi di spedizione", "Contattare l'assistenza clienti", "Eliminare il mio account",
        "Modificare l'indirizzo di consegna", "Usare un codice sconto", "Scaricare la fattura",
        "Attivare l'autenticazione a due fattori", "Passare a un piano superiore", "Orari di apertura",
        "Segnalare un prodotto danneggiato", "Cambiare la lingua", "Privacy e dati personali",
        "Pagamento rifiutato", "Gestire le notifiche", "Carte regalo", "Sostituire un prodotto",
        "Problemi di accesso",
    ),
    "pt": (
        "Redefinir a minha senha", "Alterar o meu e-mail", "Atualizar a forma de pagamento",
        "Cancelar a minha assinatura", "Rastrear o meu pedido", "Devolver um artigo", "Pedir um reembolso",
        "Prazos e custos de entrega", "Falar com o apoio ao cliente", "Excluir a minha conta",
        "Alterar o endereço de entrega", "Usar um código de desconto", "Baixar a minha fatura",
        "Ativar a autenticação de dois fatores", "Mudar de plano", "Horário de funcionamento",
        "Comunicar um produto danificado", "Alterar o idioma", "Privacidade e dados pessoais",
        "Pagamento recusado", "Gerir as notificações", "Cartões-presente", "Trocar um produto",
        "Problemas de login",
    ),
    "nl": (
        "Mijn wachtwoord opnieuw instellen", "Mijn e-mailadres wijzigen", "Betaalmethode bijwerken",
        "Mijn abonnement opzeggen", "Mijn bestelling volgen", "Een artikel retourneren",
        "Een terugbetaling aanvragen", "Levertijden en verzendkosten", "Contact met de klantenservice",
        "Mijn account verwijderen", "Bezorgadres wijzigen", "Een kortingscode gebruiken",
        "Mijn factuur downloaden", "Tweestapsverificatie inschakelen", "Mijn abonnement upgraden",
        "Openingstijden", "Een beschadigd product melden", "Taalinstellingen wijzigen",
        "Privacy en persoonsgegevens", "Betaling geweigerd", "Meldingen beheren", "Cadeaubonnen",
        "Een product ruilen", "Problemen met inloggen",
    ),
    "ja": (
        "パスワードを再設定する", "メールアドレスを変更する", "支払い方法を更新する",
        "サブスクリプションを解約する", "注文を追跡する", "商品を返品する", "返金を申請する",
        "配送日数と送料", "カスタマーサポートに問い合わせる", "アカウントを削除する",
        "配送先住所を変更する", "割引コードを使う", "請求書をダウンロードする",
        "二段階認証を有効にする", "プランをアップグレードする", "営業時間",
        "破損した商品を報告する", "言語設定を変更する", "プライバシーと個人情報",
        "支払いが拒否された", "通知を管理する", "ギフトカード", "商品を交換する", "ログインできない",
    ),
}  # fmt: skip
_TITLE_VARIANTS = {
    "en": ("", " (mobile app)", " (business accounts)"),
    "fr": ("", " (application mobile)", " (comptes professionnels)"),
    "de": ("", " (mobile App)", " (Geschäftskonten)"),
    "es": ("", " (aplicación móvil)", " (cuentas de empresa)"),
    "it": ("", " (app mobile)", " (account aziendali)"),
    "pt": ("", " (aplicativo)", " (contas empresariais)"),
    "nl": ("", " (mobiele app)", " (zakelijke accounts)"),
    "ja": ("", "（モバイルアプリ）", "（法人アカウント）"),
}
_CONTENT_SENTENCES = {
    "en": (
        "Open the app or website and go to Settings › Account.",
        "Follow the steps on screen; it only takes a couple of minutes.",
        "The change is usually applied within 24 hours.",
        "You will receive a confirmation e-mail once it is done.",
        "This option is available on the website and in the mobile app.",
        "If the problem persists, contact our support team from the Help page.",
    ),
    "fr": (
        "Ouvrez l'application ou le site et allez dans Paramètres › Compte.",
        "Suivez les étapes à l'écran, cela ne prend que quelques minutes.",
        "La modification est généralement prise en compte sous 24 heures.",
        "Vous recevrez un e-mail de confirmation une fois l'opération terminée.",
        "Cette option est disponible sur le site et dans l'application mobile.",
        "Si le problème persiste, contactez notre équipe depuis la page Aide.",
    ),
    "de": (
        "Öffnen Sie die App oder die Website und gehen Sie zu Einstellungen › Konto.",
        "Folgen Sie den Schritten auf dem Bildschirm, das dauert nur wenige Minuten.",
        "Die Änderung wird in der Regel innerhalb von 24 Stunden übernommen.",
        "Sie erhalten eine Bestätigungs-E-Mail, sobald der Vorgang abgeschlossen ist.",
        "Diese Option ist auf der Website und in der mobilen App verfügbar.",
        "Falls das Problem weiterhin besteht, wenden Sie sich über die Hilfeseite an unser Team.",
    ),
    "es": (
        "Abre la aplicación o la web y ve a Ajustes › Cuenta.",
        "Sigue los pasos en pantalla; solo lleva un par de minutos.",
        "El cambio suele aplicarse en menos de 24 horas.",
        "Recibirás un correo de confirmación cuando esté hecho.",
        "Esta opción está disponible en la web y en la aplicación móvil.",
        "Si el problema continúa, contacta con nuestro equipo desde la página de Ayuda.",
    ),
    "it": (
        "Apri l'app o il sito e vai su Impostazioni › Account.",
        "Segui i passaggi sullo schermo: bastano un paio di minuti.",
        "La modifica viene di solito applicata entro 24 ore.",
        "Riceverai un'e-mail di conferma al termine dell'operazione.",
        "Questa opzione è disponibile sul sito e nell'app mobile.",
        "Se il problema persiste, contatta il nostro team dalla pagina Assistenza.",
    ),
    "pt": (
        "Abra o aplicativo ou o site e vá a Definições › Conta.",
        "Siga os passos no ecrã; leva apenas alguns minutos.",
        "A alteração costuma ser aplicada em até 24 horas.",
        "Receberá um e-mail de confirmação quando estiver concluído.",
        "Esta opção está disponível no site e na aplicação móvel.",
        "Se o problema persistir, fale com a nossa equipa na página de Ajuda.",
    ),
    "nl": (
        "Open de app of de website en ga naar Instellingen › Account.",
        "Volg de stappen op het scherm; dat duurt maar een paar minuten.",
        "De wijziging wordt meestal binnen 24 uur doorgevoerd.",
        "Je ontvangt een bevestigingsmail zodra het klaar is.",
        "Deze optie is beschikbaar op de website en in de mobiele app.",
        "Blijft het probleem bestaan? Neem dan via de helppagina contact op met ons team.",
    ),
    "ja": (
        "アプリまたはウェブサイトを開き、「設定」›「アカウント」に進んでください。",
        "画面の指示に従ってください。数分で完了します。",
        "変更は通常24時間以内に反映されます。",
        "完了すると確認メールが届きます。",
        "この機能はウェブサイトとモバイルアプリの両方で利用できます。",
        "問題が解決しない場合は、ヘルプページからサポートチームにお問い合わせください。",
    ),
}
#: Conversation phrases.  ``{t}`` is an FAQ title, ``{tl}`` the same with a lower-case first
#: letter, ``{bot}`` the client's bot name, ``{name}`` an agent's name.
_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "greet": ("Hi! 👋 How can I help you today?",
                  "Hello, I'm {bot}, your virtual assistant. What can I do for you?",
                  "Welcome back! Ask me anything about your account or orders."),
        "ask": ("{t}?", "Hi, I have a question: {tl}", "{tl} please", "I need help — {tl}", "{t} 🙏",
                "how do I do this? {tl}"),
        "fallback": ("Sorry, I didn't get that. Could you rephrase?",
                     "Hmm, I'm not sure I understood 🤔 Can you say it differently?"),
        "suggest": ("You might find this helpful: {t}", "Popular right now: {t}"),
        "nudge": ("Are you still there? 🙂", "Anything else I can help you with?"),
        "thanks": ("thanks!", "Thank you 🙏", "ok great", "perfect, that's it 👍", "that didn't really help"),
        "ask_agent": ("Can I talk to a human?", "agent please", "I want to speak to someone"),
        "handoff": ("I'm transferring you to one of our agents, please wait a moment…",),
        "agent": ("Hi, this is {name} from the support team. Let me look into this for you.",
                  "Hello! {name} here 😊 I'm checking your request now."),
        "agent_done": ("All sorted! Is there anything else?",
                       "I've updated your account, you should see the change shortly."),
        "names": ("Sarah", "Tom", "Priya", "Kevin"),
    },
    "fr": {
        "greet": ("Bonjour ! 👋 Comment puis-je vous aider aujourd'hui ?",
                  "Bonjour, je suis {bot}, votre assistant virtuel. Que puis-je faire pour vous ?",
                  "Ravi de vous revoir ! Posez-moi votre question."),
        "ask": ("{t} ?", "Bonjour, j'ai une question : {tl}", "{tl} svp", "besoin d'aide — {tl}", "{t} 🙏",
                "comment faire ? {tl}"),
        "fallback": ("Désolé, je n'ai pas compris. Pouvez-vous reformuler ?",
                     "Hum, je ne suis pas sûr d'avoir bien compris 🤔"),
        "suggest": ("Ceci pourrait vous aider : {t}", "Question fréquente : {t}"),
        "nudge": ("Vous êtes toujours là ? 🙂", "Puis-je vous aider pour autre chose ?"),
        "thanks": ("merci !", "Merci beaucoup 🙏", "super, c'est réglé", "parfait 👍",
                   "ça ne m'aide pas vraiment"),
        "ask_agent": ("Je voudrais parler à un conseiller", "un humain svp",
                      "Est-ce que je peux parler à quelqu'un ?"),
        "handoff": ("Je vous mets en relation avec un conseiller, merci de patienter…",),
        "agent": ("Bonjour, ici {name} du service client. Je regarde ça tout de suite.",
                  "Bonjour ! {name} à votre écoute 😊"),
        "agent_done": ("C'est réglé ! Puis-je faire autre chose pour vous ?",
                       "J'ai mis à jour votre compte, le changement sera visible sous peu."),
        "names": ("Camille", "Julien", "Chloé", "Théo"),
    },
    "de": {
        "greet": ("Hallo! 👋 Wie kann ich Ihnen heute helfen?",
                  "Hallo, ich bin {bot}, Ihr virtueller Assistent. Was kann ich für Sie tun?",
                  "Willkommen zurück! Fragen Sie mich einfach."),
        "ask": ("{t}?", "Hallo, ich habe eine Frage: {t}", "{t} bitte", "Brauche Hilfe – {t}", "{t} 🙏",
                "Wie geht das? {t}"),
        "fallback": ("Entschuldigung, das habe ich nicht verstanden. Können Sie es anders formulieren?",
                     "Hmm, da bin ich mir nicht sicher 🤔"),
        "suggest": ("Das könnte Ihnen helfen: {t}", "Häufige Frage: {t}"),
        "nudge": ("Sind Sie noch da? 🙂", "Kann ich sonst noch etwas für Sie tun?"),
        "thanks": ("danke!", "Vielen Dank 🙏", "super, hat geklappt", "perfekt 👍",
                   "das hilft mir nicht wirklich"),
        "ask_agent": ("Kann ich mit einem Mitarbeiter sprechen?", "Mensch bitte",
                      "Ich möchte mit jemandem reden"),
        "handoff": ("Ich verbinde Sie mit einem Mitarbeiter, bitte haben Sie einen Moment Geduld…",),
        "agent": ("Hallo, hier ist {name} vom Kundenservice. Ich schaue mir das gleich an.",
                  "Guten Tag! {name} hier 😊 Ich prüfe Ihre Anfrage."),
        "agent_done": ("Erledigt! Kann ich sonst noch helfen?",
                       "Ich habe Ihr Konto aktualisiert, die Änderung ist gleich sichtbar."),
        "names": ("Lena", "Jonas", "Jürgen", "Anja"),
    },
    "es": {
        "greet": ("¡Hola! 👋 ¿En qué puedo ayudarte hoy?",
                  "Hola, soy {bot}, tu asistente virtual. ¿Qué puedo hacer por ti?",
                  "¡Bienvenido de nuevo! Pregúntame lo que quieras."),
        "ask": ("¿{t}?", "Hola, tengo una pregunta: {tl}", "{tl} por favor", "necesito ayuda — {tl}", "{t} 🙏",
                "¿cómo hago esto? {tl}"),
        "fallback": ("Lo siento, no te he entendido. ¿Puedes reformularlo?",
                     "Mmm, no estoy seguro de haberlo entendido 🤔"),
        "suggest": ("Esto podría ayudarte: {t}", "Pregunta frecuente: {t}"),
        "nudge": ("¿Sigues ahí? 🙂", "¿Puedo ayudarte con algo más?"),
        "thanks": ("¡gracias!", "Muchas gracias 🙏", "genial, solucionado", "perfecto 👍",
                   "eso no me ayuda mucho"),
        "ask_agent": ("¿Puedo hablar con una persona?", "un agente por favor", "Quiero hablar con alguien"),
        "handoff": ("Te paso con uno de nuestros agentes, espera un momento…",),
        "agent": ("Hola, soy {name} del equipo de atención al cliente. Lo reviso ahora mismo.",
                  "¡Hola! Aquí {name} 😊 Estoy revisando tu solicitud."),
        "agent_done": ("¡Listo! ¿Algo más?", "He actualizado tu cuenta, verás el cambio en breve."),
        "names": ("Lucía", "Diego", "Begoña", "Íñigo"),
    },
    "it": {
        "greet": ("Ciao! 👋 Come posso aiutarti oggi?",
                  "Buongiorno, sono {bot}, il tuo assistente virtuale. Cosa posso fare per te?",
                  "Bentornato! Chiedimi pure."),
        "ask": ("{t}?", "Salve, ho una domanda: {tl}", "{tl} per favore", "ho bisogno di aiuto — {tl}",
                "{t} 🙏",
                "come si fa? {tl}"),
        "fallback": ("Scusa, non ho capito. Puoi riformulare?", "Mmm, non sono sicuro di aver capito 🤔"),
        "suggest": ("Questo potrebbe esserti utile: {t}", "Domanda frequente: {t}"),
        "nudge": ("Sei ancora lì? 🙂", "Posso aiutarti con qualcos'altro?"),
        "thanks": ("grazie!", "Grazie mille 🙏", "perfetto, risolto", "ottimo 👍",
                   "non mi è stato molto utile"),
        "ask_agent": ("Posso parlare con un operatore?", "operatore per favore",
                      "Vorrei parlare con qualcuno"),
        "handoff": ("Ti sto mettendo in contatto con un operatore, attendi un momento…",),
        "agent": ("Ciao, sono {name} dell'assistenza clienti. Controllo subito.",
                  "Salve! Sono {name} 😊 Sto verificando la tua richiesta."),
        "agent_done": ("Fatto! Serve altro?", "Ho aggiornato il tuo account, vedrai la modifica a breve."),
        "names": ("Giulia", "Marco", "Niccolò", "Chiara"),
    },
    "pt": {
        "greet": ("Olá! 👋 Como posso ajudar hoje?",
                  "Olá, sou o {bot}, o seu assistente virtual. Em que posso ajudar?",
                  "Bem-vindo de volta! Pergunte o que quiser."),
        "ask": ("{t}?", "Olá, tenho uma dúvida: {tl}", "{tl} por favor", "preciso de ajuda — {tl}", "{t} 🙏",
                "como faço? {tl}"),
        "fallback": ("Desculpe, não entendi. Pode reformular?", "Hum, não tenho certeza se entendi 🤔"),
        "suggest": ("Isto pode ajudar: {t}", "Pergunta frequente: {t}"),
        "nudge": ("Ainda está aí? 🙂", "Posso ajudar com mais alguma coisa?"),
        "thanks": ("obrigado!", "Muito obrigada 🙏", "ótimo, resolvido", "perfeito 👍",
                   "isso não ajudou muito"),
        "ask_agent": ("Posso falar com um atendente?", "atendente por favor", "Quero falar com alguém"),
        "handoff": ("Vou transferir você para um dos nossos atendentes, aguarde um momento…",),
        "agent": ("Olá, aqui é {name} do suporte. Vou verificar isso agora.",
                  "Oi! {name} aqui 😊 Estou a analisar o seu pedido."),
        "agent_done": ("Tudo resolvido! Mais alguma coisa?",
                       "Atualizei a sua conta, a alteração aparecerá em breve."),
        "names": ("Ana", "João", "Conceição", "Gonçalo"),
    },
    "nl": {
        "greet": ("Hoi! 👋 Waarmee kan ik je vandaag helpen?",
                  "Hallo, ik ben {bot}, je virtuele assistent. Wat kan ik voor je doen?",
                  "Welkom terug! Stel gerust je vraag."),
        "ask": ("{t}?", "Hallo, ik heb een vraag: {tl}", "{tl} graag", "hulp nodig — {tl}", "{t} 🙏",
                "hoe werkt dit? {tl}"),
        "fallback": ("Sorry, dat begreep ik niet. Kun je het anders formuleren?",
                     "Hmm, ik weet niet zeker of ik het goed begrijp 🤔"),
        "suggest": ("Dit kan je helpen: {t}", "Veelgestelde vraag: {t}"),
        "nudge": ("Ben je er nog? 🙂", "Kan ik je nog ergens anders mee helpen?"),
        "thanks": ("bedankt!", "Dank je wel 🙏", "top, opgelost", "perfect 👍", "dat helpt me niet echt"),
        "ask_agent": ("Kan ik met een medewerker praten?", "medewerker graag", "Ik wil iemand spreken"),
        "handoff": ("Ik verbind je door met een medewerker, een ogenblik geduld…",),
        "agent": ("Hallo, met {name} van de klantenservice. Ik kijk er meteen naar.",
                  "Hoi! {name} hier 😊 Ik bekijk je vraag nu."),
        "agent_done": ("Geregeld! Kan ik nog iets voor je doen?",
                       "Ik heb je account bijgewerkt, je ziet de wijziging zo."),
        "names": ("Sanne", "Daan", "Eline", "Thijs"),
    },
    "ja": {
        "greet": ("こんにちは！👋 本日はどのようなご用件でしょうか？",
                  "こんにちは、バーチャルアシスタントの{bot}です。何かお手伝いできることはありますか？",
                  "おかえりなさい！何でも聞いてください。"),
        "ask": ("{t}？", "{t}について教えてください", "{t}について質問があります", "{t}の件で困っています",
                "{t} 🙏"),
        "fallback": ("申し訳ありません、よく分かりませんでした。言い換えていただけますか？",
                     "うーん、理解できなかったかもしれません 🤔"),
        "suggest": ("こちらが役に立つかもしれません：{t}", "よくある質問：{t}"),
        "nudge": ("まだいらっしゃいますか？🙂", "他にお手伝いできることはありますか？"),
        "thanks": ("ありがとう！", "ありがとうございます 🙏", "解決しました", "完璧です 👍", "あまり役に立ちませんでした"),
        "ask_agent": ("オペレーターと話せますか？", "担当者をお願いします", "人と話したいです"),
        "handoff": ("担当者におつなぎします。少々お待ちください…",),
        "agent": ("こんにちは、サポート担当の{name}です。すぐに確認いたします。",
                  "お問い合わせありがとうございます😊 {name}が確認しております。"),
        "agent_done": ("対応が完了しました！他にご質問はありますか？", "アカウントを更新しました。まもなく反映されます。"),
        "names": ("佐藤", "鈴木", "高橋", "田中"),
    },
}  # fmt: skip
#: word used by update_documents when an answer title is edited
_REVISED = {
    "en": "updated", "fr": "mis à jour", "de": "aktualisiert", "es": "actualizado",
    "it": "aggiornato", "pt": "atualizado", "nl": "bijgewerkt", "ja": "更新",
}  # fmt: skip
_TITLE_REVISION_SEP = " · "

# Conversation shapes
_CHATTER_SHARE = 0.30
_BOT_ONLY_EXTRA = _Weighted([(0, 40), (1, 40), (2, 20)])
_TURNS = _Weighted([(1, 35), (2, 30), (3, 18), (4, 10), (5, 7)])
_AGENT_SHARE = 0.12  # of conversations with a chatter
_ANSWERED_SHARE = 0.85  # bot replies to a chatter question that used an answer
_ZIPF_EXPONENT = 1.1
_RETURNING_CHATTER_SHARE = 0.2
_EXTRA_FIELDS_SHARE = 0.02
_EDITED_MESSAGE_SHARE = 0.01
_VARIABLE_COUNT = _Weighted([(0, 18), (1, 30), (2, 30), (3, 16), (4, 6)])


def _var_plan(r: random.Random) -> tuple[str, Any]:
    return "plan", _PLANS.pick(r.random)


def _var_cart(r: random.Random) -> tuple[str, Any]:
    items = r.randint(1, 6)
    return "cart", {"items": items, "total": round(items * r.uniform(4.9, 79.9), 2),
                    "currency": "EUR" if r.random() < 0.6 else "USD"}


def _var_tags(r: random.Random) -> tuple[str, Any]:
    return "tags", r.sample(_TAGS, r.randint(1, 3))


def _var_logged_in(r: random.Random) -> tuple[str, Any]:
    return "logged_in", r.random() < 0.55


def _var_page(r: random.Random) -> tuple[str, Any]:
    return "page", r.choice(_REFERRER_PATHS)


def _var_user(r: random.Random) -> tuple[str, Any]:
    return "user", {"tier": r.randint(1, 4), "since": f"{r.randint(2016, 2024)}-{r.randint(1, 12):02d}"}


def _var_ab(r: random.Random) -> tuple[str, Any]:
    return "ab", {"bucket": "A" if r.random() < 0.5 else "B", "exp": "pricing_test"}


def _var_order(r: random.Random) -> tuple[str, Any]:
    return "order_id", f"ORD-{r.randint(100000, 999999)}"


_PLANS = _Weighted([("free", 45), ("starter", 25), ("pro", 22), ("enterprise", 8)])
_TAGS = ("vip", "newsletter", "returning", "promo", "beta", "b2b")
_VARIABLE_MAKERS = (
    _var_plan, _var_cart, _var_tags, _var_logged_in, _var_page, _var_user, _var_ab, _var_order,
)


def _extra_fields(r: random.Random, has_chatter: bool) -> dict[str, Any]:
    """Rare top-level fields that are not part of the documented schema."""
    kind = r.randrange(4)
    if kind == 0:
        return {"experiment": r.choice(("onboarding_v2", "new_widget", "proactive_greeting"))}
    if kind == 1:
        return {"campaign": {"source": r.choice(("newsletter", "google", "instagram")),
                             "medium": r.choice(("email", "cpc", "social")),
                             "name": r.choice(("spring_sale", "black_friday", "relaunch")),
                             "id": r.randint(1000, 9999)}}
    if kind == 2:
        return {"legacy_id": r.randint(10_000_000, 99_999_999)}
    return {"rating": r.randint(1, 5) if has_chatter else None}


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


class _Pool:
    """Active answers of one client+language, Zipf-weighted in a random popularity order."""

    __slots__ = ("answers", "greetings", "phrases", "picker")

    def __init__(self, answers: list[tuple[ObjectId, str, str, str]], greetings: tuple[str, ...],
                 phrases: dict[str, tuple[str, ...]]) -> None:
        self.answers = answers  # (id, title, title lower-first, content)
        self.picker = _Weighted((rank, 1.0 / (rank + 1) ** _ZIPF_EXPONENT) for rank in range(len(answers)))
        self.greetings = greetings
        self.phrases = phrases


def _epoch_seconds(value: datetime) -> int:
    return calendar.timegm(value.timetuple())


def _build_answers(spec: DemoDataSpec, rng: random.Random, new_id: _IdFactory,
                   start_epoch_ms: int) -> tuple[list[dict], dict[tuple[str, str], _Pool]]:
    start = spec.start
    window_ms = spec.days * _MS_PER_DAY
    docs: list[dict] = []
    pools: dict[tuple[str, str], _Pool] = {}
    for client, (_weight, languages, bot) in _CLIENT_PROFILES.items():
        for lang in languages:
            topics = _TOPICS[lang]
            variants = _TITLE_VARIANTS[lang]
            sentences = _CONTENT_SENTENCES[lang]
            sep = "" if lang == "ja" else " "
            titles: list[str] = []
            for variant in variants:  # base topics first, then variants
                order = list(range(len(topics)))
                rng.shuffle(order)
                titles.extend(topics[i] + variant for i in order)
            active: list[tuple[ObjectId, str, str, str]] = []
            for n, title in enumerate(titles[: rng.randint(20, 60)]):
                created_ms = rng.randrange(_ANSWERS_CREATED_WITHIN_MS)
                created = start + timedelta(milliseconds=created_ms)
                if rng.random() < 0.2:  # edited later in the window
                    updated = start + timedelta(milliseconds=rng.randrange(created_ms, window_ms))
                    version = rng.randint(2, 5)
                else:
                    updated, version = created, 1
                lead = f"【{title}】" if lang == "ja" else f"{title}."
                content = sep.join([lead, *rng.sample(sentences, rng.randint(2, 4))])
                is_active = n == 0 or rng.random() < 0.92
                _id = new_id((start_epoch_ms + created_ms) // 1000)
                docs.append({
                    "_id": _id,
                    "client_id": client,
                    "title": title,
                    "language": lang,
                    "created_at": created,
                    "updated_at": updated,
                    "content": content,
                    "active": is_active,
                    "version": version,
                })
                if is_active:
                    tl = title if lang in ("de", "ja") else _lower_first(title)
                    active.append((_id, title, tl, content))
            rng.shuffle(active)  # popularity rank independent of title order
            phrases = _PHRASES[lang]
            greetings = tuple(g.format(bot=bot) for g in phrases["greet"])
            pools[(client, lang)] = _Pool(active, greetings, phrases)
    return docs, pools


def _chunks(name: str, docs: list[dict]) -> Iterator[tuple[str, list[dict]]]:
    for i in range(0, len(docs), BATCH_SIZE):
        yield name, docs[i : i + BATCH_SIZE]


def generate(spec: DemoDataSpec) -> Iterator[tuple[str, list[dict]]]:
    """Yield ``(collection, batch)`` pairs, batches of at most :data:`BATCH_SIZE` documents:
    answers first, then for each day its conversations and then their messages.

    Pure (no I/O) and deterministic for a spec, ObjectIds included.
    """
    rng = random.Random(f"demo-data:{spec.region}:{spec.seed}")
    new_id = _IdFactory(rng)
    start = spec.start
    start_epoch_ms = _epoch_seconds(start) * 1000 + start.microsecond // 1000

    answers, pools = _build_answers(spec, rng, new_id, start_epoch_ms)
    yield from _chunks("answers", answers)

    family = _region_family(spec.region)
    offset = _REGION_UTC_OFFSET_HOURS[family]
    hour_picker = _Weighted((h, _LOCAL_HOUR_WEIGHTS[(h + offset) % 24]) for h in range(24))
    client_picker = _Weighted((c, p[0]) for c, p in _CLIENT_PROFILES.items())
    lang_pickers = {c: _Weighted(w.items()) for c, w in _CLIENT_LANGUAGE_WEIGHTS.items()}
    country_pickers = {lang: _Weighted(w) for lang, w in _COUNTRIES_BY_LANGUAGE.items()}
    country_pickers["en"] = _Weighted(_EN_COUNTRIES_BY_REGION[family])
    returning: dict[str, list[str]] = {c: [] for c in _CLIENT_PROFILES}

    for day in range(spec.days):
        day_ms = day * _MS_PER_DAY
        min_ms = _ANSWERS_CREATED_WITHIN_MS if day == 0 else 0
        rnd = rng.random
        offsets = []
        for _ in range(spec.conversations_per_day):
            ms = hour_picker.pick(rnd) * _MS_PER_HOUR + int(rnd() * _MS_PER_HOUR)
            offsets.append(day_ms + (ms if ms >= min_ms else ms + min_ms))
        offsets.sort()
        conversations: list[dict] = []
        messages: list[dict] = []
        for conv_ms in offsets:
            conversations.append(_conversation(
                rng, new_id, start, start_epoch_ms, conv_ms, pools, messages,
                client_picker, lang_pickers, country_pickers, returning,
            ))
        yield from _chunks("conversations", conversations)
        yield from _chunks("messages", messages)


def _conversation(
    rng: random.Random,
    new_id: _IdFactory,
    start: datetime,
    start_epoch_ms: int,
    conv_ms: int,
    pools: dict[tuple[str, str], _Pool],
    messages: list[dict],
    client_picker: _Weighted,
    lang_pickers: dict[str, _Weighted],
    country_pickers: dict[str, _Weighted],
    returning: dict[str, list[str]],
) -> dict:
    """Build one conversation, append its messages to ``messages`` and return it."""
    rnd = rng.random
    randint = rng.randint
    choice = rng.choice

    client = client_picker.pick(rnd)
    lang = lang_pickers[client].pick(rnd)
    device = _DEVICE.pick(rnd)
    platform = _PLATFORM_BY_DEVICE[device].pick(rnd)
    pool = pools[(client, lang)]
    phrases = pool.phrases
    answers = pool.answers
    pick_answer = pool.picker.pick

    seen = returning[client]
    if seen and rnd() < _RETURNING_CHATTER_SHARE:
        chatter_id = choice(seen)
    else:
        chatter_id = f"ch_{rng.getrandbits(48):012x}"
        if len(seen) < 500:
            seen.append(chatter_id)

    conv_id = new_id((start_epoch_ms + conv_ms) // 1000)
    channel = platform
    t = conv_ms
    conv_msgs: list[dict] = []

    def add(sender: str, text: str, answer_id: ObjectId | None, conf: int | None, meta: dict) -> None:
        created = start + timedelta(milliseconds=t)
        if sender == "chatter" and rnd() < _EDITED_MESSAGE_SHARE:
            updated = created + timedelta(milliseconds=randint(2000, 30000))
        else:
            updated = created
        conv_msgs.append({
            "_id": new_id((start_epoch_ms + t) // 1000),
            "conversation_id": conv_id,
            "client_id": client,
            "sender": sender,
            "answer_id": answer_id,
            "text": text,
            "confidence": None if conf is None else _confidence(conf),
            "created_at": created,
            "updated_at": updated,
            "meta": meta,
        })

    def bot(text: str, answer_id: ObjectId | None, conf: int) -> None:
        add("bot", text, answer_id, conf, {"channel": channel, "latency_ms": randint(60, 1800)})

    # greeting
    t += randint(300, 2500)
    bot(choice(pool.greetings), None, 10000)

    has_chatter = rnd() < _CHATTER_SHARE
    if not has_chatter:
        for _ in range(_BOT_ONLY_EXTRA.pick(rnd)):
            t += randint(5000, 90000)
            if rnd() < 0.7:
                a = answers[pick_answer(rnd)]
                bot(choice(phrases["suggest"]).format(t=a[1]), a[0], randint(6000, 9999))
            else:
                bot(choice(phrases["nudge"]), None, 10000)
    else:
        turns = _TURNS.pick(rnd)
        agent_turn = randint(0, turns - 1) if rnd() < _AGENT_SHARE else -1
        chatter_meta = {"channel": channel}
        for turn in range(turns):
            t += randint(4000, 120000)
            a = answers[pick_answer(rnd)]
            add("chatter", choice(phrases["ask"]).format(t=a[1], tl=a[2]), None, None, dict(chatter_meta))
            t += randint(400, 2500)
            if rnd() < _ANSWERED_SHARE:
                bot(a[3], a[0], randint(5500, 9999))
            else:
                bot(choice(phrases["fallback"]), None, randint(500, 4500))
            if turn == agent_turn:
                t += randint(3000, 40000)
                add("chatter", choice(phrases["ask_agent"]), None, None, dict(chatter_meta))
                t += randint(400, 2000)
                bot(phrases["handoff"][0], None, 10000)
                agent_meta = {"channel": "console", "agent_id": f"ag_{randint(1, 40):03d}"}
                name = choice(phrases["names"])
                t += randint(20000, 240000)
                add("agent", choice(phrases["agent"]).format(name=name), None, None, agent_meta)
                t += randint(30000, 300000)
                add("agent", choice(phrases["agent_done"]), None, None, dict(agent_meta))
                break
        if rnd() < 0.2:
            t += randint(3000, 60000)
            add("chatter", choice(phrases["thanks"]), None, None, dict(chatter_meta))

    messages.extend(conv_msgs)

    if platform == "web":
        browser = _BROWSER[(platform, device)].pick(rnd)
        if rnd() < 0.3:
            referrer = None  # typed URL / bookmark
        elif rnd() < 0.6:
            referrer = choice(_REFERRERS)
        else:
            referrer = f"https://www.{client}.com{choice(_REFERRER_PATHS)}"
    else:
        browser = _APP_BROWSER[platform]
        referrer = None
    variables: dict[str, Any] = {}
    n_vars = _VARIABLE_COUNT.pick(rnd)
    if n_vars:
        for maker in rng.sample(_VARIABLE_MAKERS, n_vars):
            key, value = maker(rng)
            variables[key] = value

    conv = {
        "_id": conv_id,
        "client_id": client,
        "chatter_id": chatter_id,
        "language": lang,
        "device": device,
        "platform": platform,
        "created_at": start + timedelta(milliseconds=conv_ms),
        "updated_at": conv_msgs[-1]["created_at"],
        "meta": {
            "country": country_pickers[lang].pick(rnd),
            "browser": browser,
            "referrer": referrer,
            "app_version": _APP_VERSIONS[platform].pick(rnd),
        },
        "variables": variables,
    }
    if rnd() < _EXTRA_FIELDS_SHARE:
        conv.update(_extra_fields(rng, has_chatter))
    return conv


# --------------------------------------------------------------------------------------
# Database helpers
# --------------------------------------------------------------------------------------


def _ensure_indexes(db: pymongo.database.Database) -> None:
    for source in catalog().sources.values():  # the extract reads every declared source by its cursor
        db[source.name].create_index([(source.cursor, ASCENDING)])
    db["messages"].create_index([("conversation_id", ASCENDING)])


def seed_database(db: pymongo.database.Database, spec: DemoDataSpec, *, drop: bool = False) -> dict[str, int]:
    """Create the indexes (``updated_at`` on every collection, ``conversation_id`` on
    messages) and insert everything generated for ``spec`` with unordered ``insert_many``.

    With ``drop=True`` the three collections are dropped first.  Returns the number of
    documents inserted per collection.
    """
    if drop:
        for name in catalog().sources:
            db.drop_collection(name)
    _ensure_indexes(db)
    counts: dict[str, int] = {}
    for name, batch in generate(spec):
        counts[name] = counts.get(name, 0) + len(batch)
        if batch:
            db[name].insert_many(batch, ordered=False)
    return counts


def update_documents(
    db: pymongo.database.Database,
    *,
    region: str,
    at: datetime,
    count: int,
    seed: int = 11,
    lookback: timedelta = timedelta(days=7),
) -> dict[str, list]:
    """Simulate production changes made at time ``at``.

    Picks ``count`` conversations whose ``updated_at`` lies in ``[at - lookback, at)``
    (falling back to everything before ``at`` if that range is too small) with an indexed
    range query, samples them client-side, then for each one either adds a chatter reply
    message (``created_at = updated_at = at``), changes its language or device, or changes
    a variable.  About ``count / 10`` answers used by the picked conversations (found via
    the ``conversation_id`` index) are retitled and get ``version + 1``.  Every changed
    document gets ``updated_at = at``.  Returns the changed (or inserted) ``_id`` values
    per collection (all three keys, possibly empty lists).

    Deterministic for the same database content and arguments.  As in production, a
    language change leaves the conversation's older messages pointing at answers in the
    previous language.
    """
    at = _to_naive_utc_ms(at)
    changed: dict[str, list] = {"conversations": [], "messages": [], "answers": []}
    if count <= 0:
        return changed
    rng = random.Random(f"demo-update:{region}:{seed}:{at.isoformat()}")
    new_id = _IdFactory(rng)
    at_epoch = _epoch_seconds(at)

    projection = {"client_id": 1, "language": 1, "device": 1, "platform": 1}
    candidates = list(db.conversations.find({"updated_at": {"$gte": at - lookback, "$lt": at}}, projection))
    if len(candidates) < count:
        candidates = list(db.conversations.find({"updated_at": {"$lt": at}}, projection))
    candidates.sort(key=lambda d: d["_id"])  # server order is not guaranteed
    picked = rng.sample(candidates, min(count, len(candidates)))

    conv_ops: list[UpdateOne] = []
    new_messages: list[dict] = []
    for conv in picked:
        client = conv.get("client_id")
        lang = conv.get("language")
        profile = _CLIENT_PROFILES.get(client)
        phrases = _PHRASES.get(lang, _PHRASES["en"])
        action = rng.random()
        set_fields: dict[str, Any] = {"updated_at": at}
        if action < 0.5:
            text = rng.choice(phrases["thanks"] + phrases["ask_agent"])
            msg = {
                "_id": new_id(at_epoch),
                "conversation_id": conv["_id"],
                "client_id": client,
                "sender": "chatter",
                "answer_id": None,
                "text": text,
                "confidence": None,
                "created_at": at,
                "updated_at": at,
                "meta": {"channel": conv.get("platform")},
            }
            new_messages.append(msg)
        elif action < 0.65 and profile is not None and len(profile[1]) > 1:
            set_fields["language"] = rng.choice([x for x in profile[1] if x != lang])
        elif action < 0.8 and len(_DEVICES_BY_PLATFORM.get(conv.get("platform"), ())) > 1:
            options = [d for d in _DEVICES_BY_PLATFORM[conv["platform"]] if d != conv.get("device")]
            set_fields["device"] = rng.choice(options)
        else:
            set_fields["variables.plan"] = _PLANS.pick(rng.random)
            set_fields["variables.synced_by"] = "crm"
        conv_ops.append(UpdateOne({"_id": conv["_id"]}, {"$set": set_fields}))
        changed["conversations"].append(conv["_id"])

    if new_messages:
        db.messages.insert_many(new_messages, ordered=False)
        changed["messages"] = [m["_id"] for m in new_messages]
    if conv_ops:
        db.conversations.bulk_write(conv_ops, ordered=False)

    # Retitle a few answers actually used in the picked conversations.
    n_answers = max(1, len(picked) // 10) if picked else 0
    if n_answers:
        used = {
            m["answer_id"]
            for m in db.messages.find(
                {"conversation_id": {"$in": [c["_id"] for c in picked]}}, {"answer_id": 1}
            )
            if m.get("answer_id") is not None
        }
        if used:
            answer_ids = rng.sample(sorted(used), min(n_answers, len(used)))
            answers = sorted(db.answers.find({"_id": {"$in": answer_ids}}, {"title": 1, "language": 1}),
                             key=lambda d: d["_id"])
        else:  # nothing referenced: fall back to answers last changed before `at`
            pool = sorted(db.answers.find({"updated_at": {"$lt": at}}, {"title": 1, "language": 1}),
                          key=lambda d: d["_id"])
            answers = rng.sample(pool, min(n_answers, len(pool)))
        answer_ops = []
        for ans in answers:
            base = str(ans.get("title", "")).split(_TITLE_REVISION_SEP)[0]
            word = _REVISED.get(ans.get("language"), _REVISED["en"])
            title = f"{base}{_TITLE_REVISION_SEP}{word} {at:%Y-%m-%d}"
            answer_ops.append(UpdateOne({"_id": ans["_id"]},
                                        {"$set": {"title": title, "updated_at": at}, "$inc": {"version": 1}}))
            changed["answers"].append(ans["_id"])
        if answer_ops:
            db.answers.bulk_write(answer_ops, ordered=False)
    return changed
