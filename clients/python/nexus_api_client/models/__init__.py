"""Contains all the data models used in inputs/outputs"""

from .admin_user import AdminUser
from .alert_changes import AlertChanges
from .alert_settings import AlertSettings
from .audit_entry import AuditEntry
from .billing_event_entry import BillingEventEntry
from .billing_event_page import BillingEventPage
from .billing_status import BillingStatus
from .billing_view import BillingView
from .bot import Bot
from .bot_changes import BotChanges
from .bot_counts import BotCounts
from .bot_page import BotPage
from .checkout_body import CheckoutBody
from .credentials import Credentials
from .done import Done
from .email_changes import EmailChanges
from .email_entry import EmailEntry
from .email_page import EmailPage
from .email_preferences import EmailPreferences
from .email_state_name import EmailStateName
from .email_webhook_answer import EmailWebhookAnswer
from .error_body import ErrorBody
from .exchange import Exchange
from .fill import Fill
from .forgot import Forgot
from .health import Health
from .invoice_list import InvoiceList
from .invoice_view import InvoiceView
from .key_info import KeyInfo
from .link_confirmation import LinkConfirmation
from .link_required import LinkRequired
from .llm_call_entry import LlmCallEntry
from .llm_call_page import LlmCallPage
from .llm_usage_entry import LlmUsageEntry
from .llm_usage_report import LlmUsageReport
from .me import Me
from .new_bot import NewBot
from .new_key import NewKey
from .new_signal import NewSignal
from .order import Order
from .out_of_sync_entry import OutOfSyncEntry
from .paid_plan import PaidPlan
from .password_change import PasswordChange
from .permissions import Permissions
from .position_view import PositionView
from .redirect_url import RedirectUrl
from .resend_webhook_body import ResendWebhookBody
from .reset import Reset
from .role_change import RoleChange
from .role_name import RoleName
from .session_body import SessionBody
from .sign_up import SignUp
from .signal_accepted import SignalAccepted
from .signal_action import SignalAction
from .skip import Skip
from .stripe_webhook_body import StripeWebhookBody
from .user_page import UserPage
from .verify import Verify
from .webhook_answer import WebhookAnswer
from .webhook_changes import WebhookChanges
from .webhook_preferences import WebhookPreferences

__all__ = (
    "AdminUser",
    "AlertChanges",
    "AlertSettings",
    "AuditEntry",
    "BillingEventEntry",
    "BillingEventPage",
    "BillingStatus",
    "BillingView",
    "Bot",
    "BotChanges",
    "BotCounts",
    "BotPage",
    "CheckoutBody",
    "Credentials",
    "Done",
    "EmailChanges",
    "EmailEntry",
    "EmailPage",
    "EmailPreferences",
    "EmailStateName",
    "EmailWebhookAnswer",
    "ErrorBody",
    "Exchange",
    "Fill",
    "Forgot",
    "Health",
    "InvoiceList",
    "InvoiceView",
    "KeyInfo",
    "LinkConfirmation",
    "LinkRequired",
    "LlmCallEntry",
    "LlmCallPage",
    "LlmUsageEntry",
    "LlmUsageReport",
    "Me",
    "NewBot",
    "NewKey",
    "NewSignal",
    "Order",
    "OutOfSyncEntry",
    "PaidPlan",
    "PasswordChange",
    "Permissions",
    "PositionView",
    "RedirectUrl",
    "ResendWebhookBody",
    "Reset",
    "RoleChange",
    "RoleName",
    "SessionBody",
    "SignalAccepted",
    "SignalAction",
    "SignUp",
    "Skip",
    "StripeWebhookBody",
    "UserPage",
    "Verify",
    "WebhookAnswer",
    "WebhookChanges",
    "WebhookPreferences",
)
