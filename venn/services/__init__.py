"""The service layer: the rules of the chat, called by every transport.

:class:`Services` bundles the per-app services (``venn.app.create_app`` builds it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from venn.config import Settings
from venn.events import EventBus
from venn.metrics import Metrics
from venn.presence import Presence
from venn.ratelimit import RateLimiter
from venn.security.tokens import TokenSigner

if TYPE_CHECKING:
    from venn.files.service import FileService
    from venn.services.actions import ActionService
    from venn.services.admin import AdminService
    from venn.services.audit import AuditService
    from venn.services.channels import ChannelService
    from venn.services.delivery import DeliveryWorker
    from venn.services.dms import DirectMessageService
    from venn.services.invites import InviteService
    from venn.services.mentions import MentionService
    from venn.services.messages import MessageService
    from venn.services.moderation import ModerationService
    from venn.services.pins import PinService
    from venn.services.reactions import ReactionService
    from venn.services.search import SearchService
    from venn.services.sessions import SessionService
    from venn.services.subscriptions import EventSubscriptionService
    from venn.services.threads import ThreadService
    from venn.services.tokens import PersonalTokenService
    from venn.services.users import UserService
    from venn.services.webhooks import WebhookService
    from venn.services.writer import ChannelLock


@dataclass
class Services:
    settings: Settings
    events: EventBus
    limiter: RateLimiter
    tokens: TokenSigner
    presence: Presence
    metrics: Metrics
    #: a lock per channel shared by every process (Redis, when REDIS_URL is set), so
    #: that ``new_message`` leaves in id order across processes; None: one process
    channel_lock: ChannelLock | None = None
    users: UserService = field(init=False)
    sessions: SessionService = field(init=False)
    channels: ChannelService = field(init=False)
    dms: DirectMessageService = field(init=False)
    mentions: MentionService = field(init=False)
    messages: MessageService = field(init=False)
    threads: ThreadService = field(init=False)
    reactions: ReactionService = field(init=False)
    pins: PinService = field(init=False)
    files: FileService = field(init=False)
    admin: AdminService = field(init=False)
    audit: AuditService = field(init=False)
    invites: InviteService = field(init=False)
    moderation: ModerationService = field(init=False)
    search: SearchService = field(init=False)
    webhooks: WebhookService = field(init=False)
    personal_tokens: PersonalTokenService = field(init=False)
    subscriptions: EventSubscriptionService = field(init=False)
    delivery: DeliveryWorker = field(init=False)
    actions: ActionService = field(init=False)

    def __post_init__(self) -> None:
        from venn.files.service import FileService
        from venn.services.actions import ActionService
        from venn.services.admin import AdminService
        from venn.services.audit import AuditService
        from venn.services.channels import ChannelService
        from venn.services.delivery import DeliveryWorker
        from venn.services.dms import DirectMessageService
        from venn.services.invites import InviteService
        from venn.services.mentions import MentionService
        from venn.services.messages import MessageService
        from venn.services.moderation import ModerationService
        from venn.services.pins import PinService
        from venn.services.reactions import ReactionService
        from venn.services.search import SearchService
        from venn.services.sessions import SessionService
        from venn.services.subscriptions import EventSubscriptionService
        from venn.services.threads import ThreadService
        from venn.services.tokens import PersonalTokenService
        from venn.services.users import UserService
        from venn.services.webhooks import WebhookService

        self.users = UserService(self)
        self.sessions = SessionService(self)
        self.channels = ChannelService(self)
        self.dms = DirectMessageService(self)
        self.mentions = MentionService(self)
        self.messages = MessageService(self)
        self.threads = ThreadService(self)
        self.reactions = ReactionService(self)
        self.pins = PinService(self)
        self.files = FileService(self)
        self.admin = AdminService(self)
        self.audit = AuditService(self)
        self.invites = InviteService(self)
        self.moderation = ModerationService(self)
        self.search = SearchService(self)
        self.webhooks = WebhookService(self)
        self.personal_tokens = PersonalTokenService(self)
        self.subscriptions = EventSubscriptionService(self)
        self.delivery = DeliveryWorker(self)
        self.events.subscribe(self.delivery.on_event)
        self.actions = ActionService(self)

    def metrics_message_posted(self, kind: object) -> None:
        self.metrics.messages_posted.labels(kind=str(kind)).inc()
