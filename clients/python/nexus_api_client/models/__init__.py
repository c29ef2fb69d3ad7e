"""Contains all the data models used in inputs/outputs"""

from .admin_user import AdminUser
from .advisor_use import AdvisorUse
from .alert_changes import AlertChanges
from .alert_event_name import AlertEventName
from .alert_settings import AlertSettings
from .audit_entry import AuditEntry
from .billing_event_entry import BillingEventEntry
from .billing_event_outcome import BillingEventOutcome
from .billing_event_page import BillingEventPage
from .billing_status import BillingStatus
from .billing_view import BillingView
from .bot import Bot
from .bot_change import BotChange
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
from .event import Event
from .event_bot import EventBot
from .event_fill import EventFill
from .event_position import EventPosition
from .event_regime import EventRegime
from .event_type import EventType
from .exchange import Exchange
from .exposure_cap_type_0 import ExposureCapType0
from .exposure_cap_type_1 import ExposureCapType1
from .fill import Fill
from .fixed_quote_sizing import FixedQuoteSizing
from .fixed_quote_sizing_type import FixedQuoteSizingType
from .forgot import Forgot
from .gate_action_name import GateActionName
from .gate_policy import GatePolicy
from .health import Health
from .interval_name import IntervalName
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
from .order_kind import OrderKind
from .order_side import OrderSide
from .order_state_name import OrderStateName
from .out_of_sync_entry import OutOfSyncEntry
from .paid_plan import PaidPlan
from .password_change import PasswordChange
from .percent_of_equity_sizing import PercentOfEquitySizing
from .percent_of_equity_sizing_type import PercentOfEquitySizingType
from .permissions import Permissions
from .position_view import PositionView
from .pyramid import Pyramid
from .pyramid_level import PyramidLevel
from .redirect_url import RedirectUrl
from .regime import Regime
from .regime_name import RegimeName
from .resend_webhook_body import ResendWebhookBody
from .reset import Reset
from .risk_sizing import RiskSizing
from .risk_sizing_type import RiskSizingType
from .role_change import RoleChange
from .role_name import RoleName
from .session_body import SessionBody
from .sign_up import SignUp
from .signal_accepted import SignalAccepted
from .signal_action import SignalAction
from .sizing import Sizing
from .skip import Skip
from .stop_distance_type_0 import StopDistanceType0
from .stop_distance_type_1 import StopDistanceType1
from .strategy_name import StrategyName
from .stripe_webhook_body import StripeWebhookBody
from .trend_breakout_parameters import TrendBreakoutParameters
from .trigger_anchor import TriggerAnchor
from .trigger_type_0 import TriggerType0
from .trigger_type_1 import TriggerType1
from .user_page import UserPage
from .verdict import Verdict
from .verify import Verify
from .webhook_answer import WebhookAnswer
from .webhook_changes import WebhookChanges
from .webhook_parameters import WebhookParameters
from .webhook_preferences import WebhookPreferences

__all__ = (
    "AdminUser",
    "AdvisorUse",
    "AlertChanges",
    "AlertEventName",
    "AlertSettings",
    "AuditEntry",
    "BillingEventEntry",
    "BillingEventOutcome",
    "BillingEventPage",
    "BillingStatus",
    "BillingView",
    "Bot",
    "BotChange",
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
    "Event",
    "EventBot",
    "EventFill",
    "EventPosition",
    "EventRegime",
    "EventType",
    "Exchange",
    "ExposureCapType0",
    "ExposureCapType1",
    "Fill",
    "FixedQuoteSizing",
    "FixedQuoteSizingType",
    "Forgot",
    "GateActionName",
    "GatePolicy",
    "Health",
    "IntervalName",
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
    "OrderKind",
    "OrderSide",
    "OrderStateName",
    "OutOfSyncEntry",
    "PaidPlan",
    "PasswordChange",
    "PercentOfEquitySizing",
    "PercentOfEquitySizingType",
    "Permissions",
    "PositionView",
    "Pyramid",
    "PyramidLevel",
    "RedirectUrl",
    "Regime",
    "RegimeName",
    "ResendWebhookBody",
    "Reset",
    "RiskSizing",
    "RiskSizingType",
    "RoleChange",
    "RoleName",
    "SessionBody",
    "SignalAccepted",
    "SignalAction",
    "SignUp",
    "Sizing",
    "Skip",
    "StopDistanceType0",
    "StopDistanceType1",
    "StrategyName",
    "StripeWebhookBody",
    "TrendBreakoutParameters",
    "TriggerAnchor",
    "TriggerType0",
    "TriggerType1",
    "UserPage",
    "Verdict",
    "Verify",
    "WebhookAnswer",
    "WebhookChanges",
    "WebhookParameters",
    "WebhookPreferences",
)
