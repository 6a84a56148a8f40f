from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.policy.deadlines import in_business_hours, ticket_deadlines
from bot.policy.model import DEFAULT_POLICY_PATH, Policy
from bot.policy.offers import Offer, damage_offer, delay_offer, held_lateness
from bot.tickets.models import Deadlines

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
D = Decimal


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY_PATH)


def raw_policy() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- ticket levels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "respond", "resolve", "escalate", "update"),
    [
        (1, timedelta(minutes=5), timedelta(hours=2), timedelta(minutes=30), None),
        (2, timedelta(minutes=15), timedelta(hours=8), timedelta(hours=2), None),
        (3, timedelta(minutes=30), timedelta(hours=24), None, timedelta(hours=48)),
    ],
)
def test_ticket_deadlines(
    policy: Policy,
    level: int,
    respond: timedelta,
    resolve: timedelta,
    escalate: timedelta | None,
    update: timedelta | None,
) -> None:
    assert ticket_deadlines(policy, level, OPENED) == Deadlines(
        respond_by=OPENED + respond,
        resolve_by=OPENED + resolve,
        escalate_by=None if escalate is None else OPENED + escalate,
        update_after=None if update is None else OPENED + update,
    )


def test_unknown_ticket_level(policy: Policy) -> None:
    with pytest.raises(ValueError, match="unknown ticket level 4"):
        ticket_deadlines(policy, 4, OPENED)


# --- damage --------------------------------------------------------------------------


def damage(
    policy: Policy,
    *,
    share: str | None = "0.5",
    repair: str | None = None,
    declared: str | None = "1000",
    insured: str | None = "1000",
    freight: str = "20",
    photos: bool = True,
) -> Offer:
    return damage_offer(
        policy,
        damaged_share=None if share is None else D(share),
        repair_estimate=None if repair is None else D(repair),
        declared_value=None if declared is None else D(declared),
        insured_value=None if insured is None else D(insured),
        freight=D(freight),
        has_photos=photos,
    )


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("no damage", {"share": "0"}, Offer("reship", D("0.00"), "damage_minor_reship", 3)),
        ("exactly 5 % -> reship", {"share": "0.05"}, Offer("reship", D("0.00"), "damage_minor_reship", 3)),
        (
            "just over 5 % -> pay by insured value",
            {"share": "0.0501", "declared": "20000", "insured": "20000"},
            Offer("compensate", D("1002.00"), "damage_insured", 3),
        ),
        (
            "> 5 % insured",
            {"share": "0.6", "declared": "5000", "insured": "5000"},
            Offer("compensate", D("3000.00"), "damage_insured", 3),
        ),
        (
            "loss limited by insured value",
            {"share": "1", "declared": "5000", "insured": "2000"},
            Offer("compensate", D("2000.00"), "damage_insured", 3),
        ),
        (
            "repair estimate beats share",
            {"share": "0.5", "repair": "800", "declared": "5000", "insured": "5000"},
            Offer("compensate", D("800.00"), "damage_insured", 3),
        ),
        (
            "uninsured: capped at 3x freight",
            {"share": "1", "declared": "5000", "insured": None, "freight": "30"},
            Offer("fast_track", D("90.00"), "damage_fast_track", 3),
        ),
        (
            "uninsured, no photos: capped at 3x freight",
            {"share": "1", "declared": "5000", "insured": "0", "freight": "200", "photos": False},
            Offer("compensate", D("600.00"), "damage_uninsured", 3),
        ),
        (
            "uninsured, loss below the cap",
            {"share": "0.1", "declared": "1000", "insured": None, "freight": "200", "photos": False},
            Offer("compensate", D("100.00"), "damage_uninsured", 3),
        ),
        (
            "fast track: under 500 with photos",
            {"share": "0.4999", "declared": "1000"},
            Offer("fast_track", D("499.90"), "damage_fast_track", 3),
        ),
        (
            "no fast track without photos",
            {"share": "0.4999", "declared": "1000", "photos": False},
            Offer("compensate", D("499.90"), "damage_insured", 3),
        ),
        (
            "exactly 500 is not under 500",
            {"share": "0.5", "declared": "1000"},
            Offer("compensate", D("500.00"), "damage_insured", 3),
        ),
        (
            "exactly the cap is allowed",
            {"share": "1", "declared": "20000", "insured": "30000"},
            Offer("compensate", D("20000.00"), "damage_insured", 3),
        ),
        (
            "above the cap -> human review",
            {"share": "1", "declared": "20000.01", "insured": "30000"},
            Offer("human_review", D("0.00"), "damage_above_cap", 2),
        ),
        (
            "extent unknown -> human review",
            {"share": None, "repair": None},
            Offer("human_review", D("0.00"), "damage_extent_unknown", 3),
        ),
        (
            "rounding half up",
            {"share": "0.33335", "declared": "100", "insured": "100"},
            Offer("fast_track", D("33.34"), "damage_fast_track", 3),
        ),
    ],
)
def test_damage_offer(policy: Policy, case: str, kwargs: dict, expected: Offer) -> None:
    assert damage(policy, **kwargs) == expected, case


@pytest.mark.parametrize("share", ["0.06", "0.3", "0.77", "1"])
@pytest.mark.parametrize("insured", [None, "0", "100", "999.99", "25000", "100000"])
@pytest.mark.parametrize("photos", [True, False])
def test_damage_offer_never_exceeds_policy(policy: Policy, share: str, insured: str | None, photos: bool) -> None:
    offer = damage(policy, share=share, declared="50000", insured=insured, freight="1000", photos=photos)
    insured_limit = D(insured) if insured and D(insured) > 0 else 3 * D("1000")
    assert offer.amount <= min(insured_limit, policy.cap)
    assert offer.amount == offer.amount.quantize(D("0.01"))


@pytest.mark.parametrize(
    "kwargs",
    [{"share": "1.2"}, {"share": "-0.1"}, {"freight": "-1"}, {"insured": "-5"}, {"repair": "-1"}],
)
def test_damage_offer_rejects_bad_input(policy: Policy, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        damage(policy, **kwargs)


# --- delay ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("late_by", "freight", "sla", "expected"),
    [
        (timedelta(0), "50", False, None),
        (timedelta(hours=-5), "50", False, None),
        (timedelta(minutes=1), "50", False, Offer("coupon", D("10.00"), "delay_coupon", 3)),
        (timedelta(days=1), "50", False, Offer("coupon", D("10.00"), "delay_coupon", 3)),
        (timedelta(days=1), "12", False, Offer("coupon", D("5.00"), "delay_coupon", 3)),  # minimum coupon
        (timedelta(days=3), "50", False, Offer("coupon", D("10.00"), "delay_coupon", 3)),
        (timedelta(days=3, seconds=1), "50", False, Offer("refund", D("20.00"), "delay_refund", 3)),
        (timedelta(days=4), "50", False, Offer("refund", D("20.00"), "delay_refund", 3)),
        (timedelta(days=7), "33.33", False, Offer("refund", D("23.33"), "delay_refund", 3)),
        (timedelta(days=10), "50", False, Offer("refund", D("50.00"), "delay_refund", 3)),
        (timedelta(days=30), "50", False, Offer("refund", D("50.00"), "delay_refund", 3)),  # max 100 %
        # SLA contract customers: > 24 h late -> 5 % of freight in cash.
        (timedelta(hours=23), "200", True, Offer("coupon", D("40.00"), "delay_coupon", 3)),
        (timedelta(hours=24), "200", True, Offer("coupon", D("40.00"), "delay_coupon", 3)),
        (timedelta(hours=25), "200", True, Offer("compensate", D("10.00"), "delay_sla", 3)),
        (timedelta(hours=25), "200", False, Offer("coupon", D("40.00"), "delay_coupon", 3)),
        (timedelta(days=4), "200", True, Offer("refund", D("80.00"), "delay_refund", 3)),  # larger wins
    ],
)
def test_delay_offer(policy: Policy, late_by: timedelta, freight: str, sla: bool, expected: Offer | None) -> None:
    assert delay_offer(policy, late_by=late_by, freight=D(freight), sla_customer=sla) == expected


def test_delay_refund_above_cap_goes_to_human(policy: Policy) -> None:
    offer = delay_offer(policy, late_by=timedelta(days=20), freight=D("30000"))
    assert offer == Offer("human_review", D("0.00"), "delay_above_cap", 2)


@pytest.mark.parametrize(
    ("held_for", "late"),
    [
        (timedelta(hours=47), timedelta(0)),
        (timedelta(hours=48), timedelta(0)),
        (timedelta(hours=50), timedelta(hours=2)),
    ],
)
def test_held_lateness(policy: Policy, held_for: timedelta, late: timedelta) -> None:
    assert held_lateness(policy, held_for) == late


# --- business hours ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 5, 1, 7, 59, 59, tzinfo=SHANGHAI), False),
        (datetime(2024, 5, 1, 8, 0, tzinfo=SHANGHAI), True),
        (datetime(2024, 5, 1, 13, 0, tzinfo=SHANGHAI), True),
        (datetime(2024, 5, 1, 21, 59, 59, tzinfo=SHANGHAI), True),
        (datetime(2024, 5, 1, 22, 0, tzinfo=SHANGHAI), False),
        (datetime(2024, 5, 1, 3, 0, tzinfo=SHANGHAI), False),
        (datetime(2024, 5, 5, 9, 0, tzinfo=SHANGHAI), True),  # Sunday: every day
        (datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc), True),  # 08:00 in Shanghai
        (datetime(2024, 5, 1, 14, 0, tzinfo=timezone.utc), False),  # 22:00 in Shanghai
    ],
)
def test_in_business_hours(policy: Policy, moment: datetime, expected: bool) -> None:
    assert in_business_hours(policy, moment) is expected


def test_in_business_hours_rejects_naive(policy: Policy) -> None:
    with pytest.raises(ValueError, match="aware"):
        in_business_hours(policy, datetime(2024, 5, 1, 9, 0))


# --- the file is the policy ----------------------------------------------------------


def test_edited_policy_changes_offers_without_code_change(tmp_path: Path, policy: Policy) -> None:
    data = raw_policy()
    data["damage"]["fast_track_below_yuan"] = 800
    data["cap_yuan"] = 5000
    data["above_cap_ticket_level"] = 1
    data["delay"]["coupon_max_days"] = 1
    data["business_hours"].update(opens="09:00", closes="18:00", days=["mon", "tue", "wed", "thu", "fri"])
    edited = Policy.load(write(tmp_path, data))

    kwargs = {"share": "0.7", "declared": "1000", "insured": "1000"}
    assert damage(policy, **kwargs) == Offer("compensate", D("700.00"), "damage_insured", 3)
    assert damage(edited, **kwargs) == Offer("fast_track", D("700.00"), "damage_fast_track", 3)

    big = {"share": "1", "declared": "6000", "insured": "6000"}
    assert damage(policy, **big).kind == "compensate"
    assert damage(edited, **big) == Offer("human_review", D("0.00"), "damage_above_cap", 1)

    two_days = timedelta(days=2)
    assert delay_offer(policy, late_by=two_days, freight=D("50")).kind == "coupon"
    assert delay_offer(edited, late_by=two_days, freight=D("50")) == Offer("refund", D("10.00"), "delay_refund", 3)

    sunday_noon = datetime(2024, 5, 5, 12, 0, tzinfo=SHANGHAI)
    assert in_business_hours(policy, sunday_noon)
    assert not in_business_hours(edited, sunday_noon)


def edit(path: str, value: object) -> dict:
    data = raw_policy()
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key) if key.isdigit() else key]
    if value is DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("cap_yuan", DELETE, "cap_yuan: missing"),
        ("cap_yuan", 0, "cap_yuan: must be a positive number"),
        ("cap_yuan", "lots", "cap_yuan: must be a number"),
        ("damage.reship_max_percent", 150, "damage.reship_max_percent: a percent must be between 0 and 100"),
        ("damage.reship_max_percent", -1, "damage.reship_max_percent: must be a non-negative number"),
        ("damage.fast_track_requires_photos", "yes", "damage.fast_track_requires_photos: must be true or false"),
        ("damage.ticket_level_reship", 7, r"damage.ticket_level_reship: must be one of the ticket levels \[1, 2, 3\]"),
        ("damage.fast_trak_below_yuan", 1, "damage.fast_trak_below_yuan: unknown key"),
        ("delay.coupon_max_days", None, "delay.coupon_max_days: must be a number"),
        ("tickets.2.resolve_within_minutes", DELETE, "tickets.2.resolve_within_minutes: missing"),
        ("tickets.1", "fast", "tickets.1: must be a mapping"),
        ("business_hours.closes", 1320, 'business_hours.closes: must be a quoted "HH:MM" time'),
        ("business_hours.closes", "07:00", "business_hours.closes: must be later than business_hours.opens"),
        ("business_hours.opens", "8 am", 'business_hours.opens: must be a quoted "HH:MM" time'),
        ("business_hours.timezone", "Mars/Olympus", "business_hours.timezone: unknown time zone"),
        ("business_hours.days", ["monday"], "business_hours.days: must be a non-empty list"),
    ],
)
def test_invalid_policy_names_the_key(tmp_path: Path, path: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.load(write(tmp_path, edit(path, value)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cap_yuan: [1\n", "not valid YAML"),
        ("", "policy file: must be a mapping"),
        ("- 1\n- 2\n", "policy file: must be a mapping"),
    ],
)
def test_invalid_policy_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Policy.load(path)


def test_unquoted_clock_in_yaml_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace('closes: "22:00"', "closes: 22:00")
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="business_hours.closes"):
        Policy.load(path)


def test_missing_parcel_ticket_level_comes_from_the_file(tmp_path):
    assert Policy.load().missing_ticket_level == 2
    raw = raw_policy()
    assert Policy.load(write(tmp_path, {**raw, "missing": {"ticket_level": 1}})).missing_ticket_level == 1
    without = {k: v for k, v in raw.items() if k != "missing"}
    with pytest.raises(ValueError, match="missing"):
        Policy.load(write(tmp_path, without))


# --- proactive notices ---------------------------------------------------------------


def test_proactive_section_is_read(policy: Policy) -> None:
    proactive = policy.proactive
    assert (proactive.quiet_start.isoformat(), proactive.quiet_end.isoformat()) == ("22:00:00", "08:00:00")
    assert proactive.max_notices_per_day == 5
    assert proactive.scan_interval == timedelta(minutes=10)
    assert proactive.watch_retention == timedelta(days=14)
    assert proactive.late_grace == timedelta(minutes=30)
    assert all(proactive.sends(kind) for kind in ("late", "held", "exception", "delivery_failed"))
    assert not proactive.sends("no_such_kind")


def test_proactive_kind_can_be_switched_off() -> None:
    edited = Policy.from_mapping(edit("proactive.notify.out_for_delivery", False))
    assert not edited.proactive.sends("out_for_delivery")
    assert edited.proactive.sends("delivered")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("proactive", DELETE, "proactive: missing"),
        ("proactive.quiet_hours.start", 1320, 'proactive.quiet_hours.start: must be a quoted "HH:MM" time'),
        ("proactive.quiet_hours.end", "8am", 'proactive.quiet_hours.end: must be a quoted "HH:MM" time'),
        ("proactive.quiet_hours.end", DELETE, "proactive.quiet_hours.end: missing"),
        ("proactive.max_notices_per_day", 0, "proactive.max_notices_per_day: must be a whole number >= 1"),
        ("proactive.max_notices_per_day", 2.5, "proactive.max_notices_per_day: must be a whole number >= 1"),
        ("proactive.scan_interval_minutes", 0, "proactive.scan_interval_minutes: must be a positive number"),
        ("proactive.watch_retention_days", "long", "proactive.watch_retention_days: must be a number"),
        ("proactive.late_grace_minutes", -5, "proactive.late_grace_minutes: must be a non-negative number"),
        ("proactive.notify.held", "yes", "proactive.notify.held: must be true or false"),
        ("proactive.notify.late", DELETE, "proactive.notify.late: missing"),
        ("proactive.notify.tea_time", True, "proactive.notify.tea_time: unknown key"),
        ("proactive.quiet_hourz", 1, "proactive.quiet_hourz: unknown key"),
        ("proactive.notify", [], "proactive.notify: must be a mapping"),
    ],
)
def test_invalid_proactive_section_names_the_key(tmp_path: Path, path: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.load(write(tmp_path, edit(path, value)))
