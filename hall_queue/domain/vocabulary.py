"""The hall's vocabulary: every enum, pattern and numeric rule of the domain, defined once.

Models, Pydantic schemas, services, pages and scripts take these from here (pages receive them as
rendered data or through the API), so a rule cannot drift between two copies. A test
(``tests/unit/test_layout.py``) fails when one of these literals is written out anywhere else.
Names follow the glossary in ``standards/README.md``.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

# ---------------------------------------------------------------- tickets (visits)
# Ticket life cycle: waiting → called → serving → done | no_show | cancelled | transferred.
TICKET_STATUSES = ("waiting", "called", "serving", "done", "no_show", "cancelled", "transferred")
OPEN_STATUSES = ("waiting", "called", "serving")
IN_HAND_STATUSES = ("called", "serving")
# Finish outcomes: 受理 / 办结 (即办) / 一次性告知 (000 §9.3) / 容缺受理 (000 §9.3.6) / 不予受理 / 咨询.
OUTCOMES = ("accepted", "completed", "notice", "deferred", "refused", "consultation")
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
# Outcomes that decide a matter (a consultation decides nothing) and those that conclude the visit's
# application (a notice sends the visitor back for materials) — the 当场受理率 of 000 §12.3.4.
MATTER_OUTCOMES = OUTCOMES[:5]
CONCLUDING_OUTCOMES = ("accepted", "completed", "deferred", "refused")
# Outcomes after which the visitor takes a written notice home (一次性告知书, 容缺受理 list).
NOTICE_OUTCOMES = ("notice", "deferred")
PRIORITY_CLASSES = ("ordinary", "green", "appointment")
# The classes a visitor may ask for at a kiosk (an appointment class comes only from a booking).
WALK_IN_CLASSES = ("ordinary", "green")
# 绿色通道 (000 §6.11; 001 §6.3): who may be served first.
GREEN_REASONS = ("elderly", "disabled", "pregnant", "military")
GreenReason = Literal[GREEN_REASONS]  # type: ignore[valid-type]
GREEN_REASON_LABELS = {"elderly": "老年人", "disabled": "残疾人", "pregnant": "孕妇", "military": "军人"}
# A visitor this old (from the ID card's birth date) is offered the green channel and 适老 mode.
ELDERLY_AGE = 60
SOURCES = ("walk_in", "appointment", "transfer")

# ---------------------------------------------------------------- windows, posts and calling
# Window kinds, glossary of standards/README and 004 §7.
WINDOW_KINDS = ("general", "on_the_spot", "cross_region", "fallback", "handover")
WindowKind = Literal[WINDOW_KINDS]  # type: ignore[valid-type]
# A window serves a queue as its main (主办) or helping (协办) window.
QUEUE_ROLES = ("primary", "helper")
QueueRole = Literal[QUEUE_ROLES]  # type: ignore[valid-type]
# Calling rules, tried in a window's order (001 §6.3, §6.4).
CALL_RULES = ("transferred", "appointment", "helper_overdue", "interleave", "ageing", "helper")
CallRule = Literal[CALL_RULES]  # type: ignore[valid-type]
DEFAULT_CALL_RULES: list[dict[str, Any]] = [
    {"rule": "transferred"},
    {"rule": "appointment"},
    {"rule": "helper_overdue", "after_s": 900},
    {"rule": "interleave", "green": 1, "ordinary": 2},
    {"rule": "helper"},
]
# Visitors this close to the head of their queue get the near-turn SMS (000 §8.3).
NEAR_TURN_AHEAD = 3
# 过号: a called visitor is marked absent only after one recall (重呼) or this many seconds since the
# call (a hall setting; this is its default) — a visitor walking over from the far end of the hall is no no-show.
NO_SHOW_MIN_S = 120
# Time zones a hall in China may keep, as the configuration page offers them (any IANA zone is accepted
# through the API; a hall's own zone outside this list is shown as it is).
HALL_TIMEZONES = {"Asia/Shanghai": "北京时间（东八区）", "Asia/Urumqi": "乌鲁木齐时间（东六区）",
                  "Asia/Hong_Kong": "香港时间（东八区）", "Asia/Macau": "澳门时间（东八区）",
                  "Asia/Taipei": "台北时间（东八区）"}
# The reason a clerk's 指定呼叫 (calling one chosen waiting ticket) records and screens show.
CALL_SPECIFIC_REASON = "指定呼叫"

# ---------------------------------------------------------------- staff
ROLES = ("admin", "manager", "clerk")
Role = Literal[ROLES]  # type: ignore[valid-type]
STAFF_ROLES = ROLES
MANAGER_ROLES = ("admin", "manager")
# Login throttling: a try is "ok" or "failed"; "locked_user" / "locked_ip" mark the start of a lock-out;
# "pending" is a password check under way (reserved first, so parallel tries never exceed the limit).
LOGIN_OUTCOMES = ("ok", "failed", "locked_user", "locked_ip", "pending")

# ---------------------------------------------------------------- catalogue
# 即办件 are finished on the spot; 承诺件 within the item's promised working days.
ITEM_KINDS = ("immediate", "promised")
ItemKind = Literal[ITEM_KINDS]  # type: ignore[valid-type]
MATERIAL_FORMS = ("original", "copy", "original_and_copy")
MaterialForm = Literal[MATERIAL_FORMS]  # type: ignore[valid-type]
MATERIAL_FORM_LABELS = {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}

# ---------------------------------------------------------------- calendar
# The hall calendar's entries: a public holiday (法定节假日) or a make-up working day (调休上班).
HOLIDAY = "holiday"
MAKEUP_WORKDAY = "workday"
CALENDAR_KINDS = (HOLIDAY, MAKEUP_WORKDAY)
CalendarKind = Literal[CALENDAR_KINDS]  # type: ignore[valid-type]

# ---------------------------------------------------------------- feedback (好差评, complaints)
# 好差评 (003 §10.4, 004 §8.5): 5 非常满意 … 1 非常不满意; ratings at or below BAD_RATING_MAX are bad
# ratings and open a rectification.
RATING_SCORES = (1, 2, 3, 4, 5)
BAD_RATING_MAX = 2
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# The same levels for the phone's English mode (the rating page, kiosk/static/kiosk/rate.js).
RATING_LABELS_EN = {5: "Very satisfied", 4: "Satisfied", 3: "Fair", 2: "Dissatisfied", 1: "Very dissatisfied"}
# "Satisfied" in a share of satisfied answers (满意率): 4 满意 and 5 非常满意.
SATISFIED_MIN = 4
# "excluded": an upheld appeal (申诉复核) ended the case without a fix.
RECTIFICATION_STATUSES = ("open", "assigned", "fixed", "closed", "excluded")
# 国办发〔2019〕51号: a bad rating is rectified and answered within 15 working days; the default of the
# hall setting (some cities ask 5).
RECTIFY_WORKING_DAYS = 15
RECTIFY_WORKING_DAYS_RANGE = (1, 30)
# Where a rating was given: the window's rating pad, or the visitor's phone from the slip's QR.
RATING_CHANNELS = ("pad", "qr")
# The phone may rate a finished ticket once, for this many days after it was finished.
PHONE_RATING_OPEN_DAYS = 7
# 申诉复核 (国办发〔2019〕51号): a bad rating given by mistake or maliciously.
APPEAL_KINDS = ("mistaken", "malicious")
APPEAL_STATUSES = ("pending", "upheld", "rejected")
# The rater's answer to the rectification feedback; not satisfied re-opens the case.
RATER_ANSWERS = ("satisfied", "not_satisfied")
# The provincial platform's message schema this adapter writes.
PROVINCE_SCHEMA_VERSION = "1.0"
REGION_CODE_PATTERN = r"^[0-9]{12}$"
# 回访 (002 §11.2.3): cases completed within the last 3 working days are sampled at the hall's rate.
CALLBACK_WORKING_DAYS = 3
CALLBACK_RATE_PCT = 10
CALLBACK_STATUSES = ("pending", "reached", "not_reached")
# Complaint life cycle (000 §10.1: accept, handle, answer or explain).
COMPLAINT_STATUSES = ("received", "handling", "answered", "closed")
# 000 §10.2: phone, online, on-site and letter complaints.
COMPLAINT_CHANNELS = ("online", "phone", "on_site", "letter")
ComplaintChannel = Literal[COMPLAINT_CHANNELS]  # type: ignore[valid-type]
# 000 §10.2 c) 投诉举报类型.
COMPLAINT_KINDS = ("attitude", "efficiency", "discipline", "process", "environment", "other")
ComplaintKind = Literal[COMPLAINT_KINDS]  # type: ignore[valid-type]
# A complaint is answered within this many working days (000 §10.3).
COMPLAINT_ANSWER_WORKING_DAYS = 5

# ---------------------------------------------------------------- consultations (咨询, 000 §7; 002 §9.1)
# The four ways a question reaches the hall: walk-up (现场, 000 §7.1), letter (信函, §7.2), phone (电话, §7.3)
# and online (网上, §7.4; typed in by staff from the portal's message box).
CONSULTATION_CHANNELS = ("walk_up", "phone", "letter", "online")
ConsultationChannel = Literal[CONSULTATION_CHANNELS]  # type: ignore[valid-type]
CONSULTATION_CHANNEL_LABELS = {"walk_up": "现场", "phone": "电话", "letter": "信函", "online": "网上"}
# A question not answered on the spot gets a promised reply date (000 §7.3 "告知答复时间"); when staff name
# none, it is this many working days of the hall calendar after the question (letters: 000 §7.2.2 承诺时限).
CONSULTATION_REPLY_WORKING_DAYS = 3
CONSULTATION_STATUSES = ("pending", "answered")
# Where a published corrective measure (000 §10.4) comes from: a closed complaint or a closed rectification.
MEASURE_SOURCES = ("complaint", "rectification")
MeasureSource = Literal[MEASURE_SOURCES]  # type: ignore[valid-type]

# ---------------------------------------------------------------- supervision (000 §12.3.5, 002 §11.3.5, 004 §8.4)
# A decided case whose result has not reached the applicant this many working days after the decision
# counts as 未向群众出具办理结果 (000 §12.3.5 e; 002 §11.3.5 f).
RESULT_HANDOVER_WORKING_DAYS = 5
# The violation indicators the hall can see itself, in the order the supervision page shows them.
VIOLATION_KINDS = ("empty_post", "overdue_case", "result_not_handed_over", "refusal")
# The audit log in the managers' words: exact actions first, then by the part before the first dot.
AUDIT_ACTION_LABELS = {
    "ticket.issue": "取号", "ticket.call": "叫号", "ticket.recall": "重呼", "ticket.no_show": "过号",
    "ticket.requeue": "过号重排", "ticket.start": "开始办理", "ticket.finish": "办结", "ticket.transfer": "转办",
    "ticket.cancel": "取消号票", "ticket.recover": "号票恢复", "ticket.revoke_green": "撤销绿色通道",
    "ticket.attach_page": "上传材料页", "ticket.read_pages": "查看材料页", "identity.reveal": "查看完整证件号",
    "window.sign_in": "窗口签到", "window.sign_out": "窗口签退", "window.pause": "暂停服务", "window.resume": "恢复服务",
    "window.open": "开放/关闭窗口", "window.configure": "窗口叫号设置", "post.cover": "顶岗", "post.empty": "空岗",
    "post.restore": "岗位恢复", "staff.login": "登录", "staff.login_failed": "登录失败", "staff.lockout": "账号锁定",
    "rating.give": "评价", "rectification.open": "差评整改立案", "rectification.assign": "指定整改",
    "rectification.fix": "记录整改", "rectification.feedback": "整改反馈", "rectification.close": "整改办结",
    "complaint.file": "投诉登记", "complaint.handle": "投诉处理", "complaint.answer": "投诉答复", "complaint.close": "投诉办结",
    "complaint.update": "投诉备注", "complaint.reopen": "投诉重新办理", "complaint.contact_reveal": "查看投诉人联系方式",
    "consultation.log": "咨询登记", "consultation.answer": "咨询答复", "consultation.ask": "网上咨询",
    "rectification.reopen": "群众不满意，整改重办", "measure.withhold": "撤下公示的整改措施",
    "measure.republish": "重新公示整改措施",
    "notice.post": "发布公告", "notice.remove": "撤下公告", "retention.purge": "到期数据清理",
    "case.accept": "办件受理", "case.complete": "即办件当场办结", "case.refuse": "不予受理", "case.dispatch": "办件分办", "case.take": "部门接件",
    "case.request_supplement": "要求补正", "case.supplement_received": "补正材料收到",
    "case.start_special_procedure": "特别程序开始", "case.end_special_procedure": "特别程序结束",
    "case.suspend": "办件挂起", "case.resume": "办件恢复", "case.decide": "作出决定", "case.result_ready": "结果待领取",
    "case.hand_over": "结果送达", "case.close": "办件办结", "case.terminate": "办件终止",
    "case.material_supplied": "容缺材料补齐", "case.follow_items": "一件事随子项办结",
    "case.attach_page": "自助机扫描补交材料", "case.read_page": "查看补交材料页",
    "alert.long_wait": "等候超时告警", "device.fault": "设备故障", "device.recovered": "设备恢复",
    "device.register": "登记设备", "device.revoke": "停用设备", "device.rotate": "更换设备令牌",
    "device.pad_token": "生成评价器链接", "appointment.book": "预约", "appointment.cancel": "取消预约",
    "appointment.check_in": "预约签到", "appointment.no_show": "预约爽约", "appointments.capacity": "号源设置",
    "appointments.holiday": "添加节假日", "appointments.holiday_removed": "删除节假日", "appointments.settings": "预约设置",
    "config.hall.create": "新建大厅", "config.hall.setup": "大厅初始化", "config.hall.update": "修改大厅设置",
    "config.item.save": "保存事项", "config.item.delete": "删除事项", "config.items.import": "导入事项",
    "config.category.save": "保存分类", "config.category.delete": "删除分类", "config.bundle.save": "保存一件事",
    "config.bundle.delete": "删除一件事", "config.queue.save": "保存队列", "config.queue.delete": "删除队列",
    "config.window.save": "保存窗口", "config.window.delete": "删除窗口", "config.staff.create": "新建人员",
    "config.staff.update": "修改人员", "config.staff.password_reset": "重置密码",
    "alert.case_due_soon": "办件临期提醒", "alert.case_overdue": "办件超期告警", "alert.deferred_overdue": "容缺材料逾期告警",
    "ops.backup": "备份", "ops.backup_failed": "备份失败", "ops.restore": "恢复数据",
}
AUDIT_AREA_LABELS = {
    "ticket": "号票", "window": "窗口", "post": "AB岗", "staff": "人员", "rating": "好差评", "rectification": "差评整改",
    "complaint": "投诉", "consultation": "咨询", "case": "办件", "config": "配置", "device": "设备", "alert": "告警",
    "appointment": "预约", "appointments": "预约设置", "notice": "公告", "identity": "身份信息", "ops": "运维",
    "retention": "数据清理", "measure": "整改措施公示",
}

# ---------------------------------------------------------------- appointments
# Appointment life cycle: booked → checked_in → served | closed; booked → cancelled | no_show.
APPOINTMENT_STATUSES = ("booked", "checked_in", "served", "closed", "cancelled", "no_show")
ACTIVE_APPOINTMENT_STATUSES = ("booked", "checked_in")

# ---------------------------------------------------------------- cases (办件)
# A case's life (000 §9.3–§9.7; 001 §7; 003 §8): accepted → dispatched (按责转办 / 一次分办) → in_review →
# supplement (补齐补正) | special_procedure (特别程序) | suspended (挂起) → in_review → decided →
# result_ready → handed_over (统一出件 / 邮寄) → closed. ``refused`` (不予受理, 000 §9.3.3) and
# ``terminated`` (a 一件事 stopped by a blocking refusal, 003 §8.3.3) end a case early.
CASE_STATES = ("accepted", "dispatched", "in_review", "supplement", "special_procedure", "suspended", "decided",
               "result_ready", "handed_over", "closed", "refused", "terminated")
CaseState = Literal[CASE_STATES]  # type: ignore[valid-type]
# States whose promised-term clock runs; in CLOCK_STOPPED_STATES it stands still (行政许可法 §45).
CLOCK_RUNNING_STATES = ("accepted", "dispatched", "in_review")
CLOCK_STOPPED_STATES = ("supplement", "special_procedure", "suspended")
# A case is open (owed a decision or a handover) until it is closed, refused or terminated.
CASE_FINAL_STATES = ("closed", "refused", "terminated")
# The transitions, by name: action → (states it may start from, the state it leads to).
CASE_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "dispatch": (("accepted",), "dispatched"),
    "take": (("dispatched",), "in_review"),
    "request_supplement": (("in_review",), "supplement"),
    "supplement_received": (("supplement",), "in_review"),
    "start_special_procedure": (("in_review",), "special_procedure"),
    "end_special_procedure": (("special_procedure",), "in_review"),
    "suspend": (("in_review",), "suspended"),
    "resume": (("suspended",), "in_review"),
    "decide": (("in_review",), "decided"),
    "result_ready": (("decided",), "result_ready"),
    "hand_over": (("result_ready",), "handed_over"),
    "close": (("handed_over",), "closed"),
    "terminate": (("accepted", "dispatched", "in_review", "supplement", "special_procedure", "suspended"),
                  "terminated"),
}
CaseAction = Literal[tuple(CASE_TRANSITIONS)]  # type: ignore[valid-type]
# What the ticket's outcome makes of a decided item (the other outcomes open no case).
CASE_OPENING_OUTCOMES = ("accepted", "completed", "deferred", "refused")
# A department's decision (000 §9.5.4; 002 §8.5.3, §8.5.5).
CASE_DECISIONS = ("approved", "not_approved")
CaseDecision = Literal[CASE_DECISIONS]  # type: ignore[valid-type]
# How the result reaches the applicant (000 §9.7; 001 §7.3): pickup at the handover window, courier, or
# handed over on the spot (即办件).
HANDOVER_METHODS = ("pickup", "courier", "on_the_spot")
HandoverMethod = Literal[HANDOVER_METHODS]  # type: ignore[valid-type]
# Papers a case issues, each numbered: 受理通知书, 一次性告知书, 容缺受理承诺书, 不予受理决定书.
CASE_DOCUMENT_KINDS = ("acceptance_notice", "one_time_notice", "deferral_pledge", "refusal_decision")
CaseDocumentKind = Literal[CASE_DOCUMENT_KINDS]  # type: ignore[valid-type]
CASE_DOCUMENT_TITLES = {"acceptance_notice": "受理通知书", "one_time_notice": "一次性告知书",
                        "deferral_pledge": "容缺受理承诺书", "refusal_decision": "不予受理决定书"}
CASE_DOCUMENT_CODES = {"acceptance_notice": "SL", "one_time_notice": "GZ", "deferral_pledge": "RQ",
                       "refusal_decision": "BY"}
CASE_STATE_LABELS = {"accepted": "已受理", "dispatched": "已分办", "in_review": "审查中", "supplement": "补正中",
                     "special_procedure": "特别程序中", "suspended": "挂起", "decided": "已作出决定",
                     "result_ready": "结果待领取", "handed_over": "结果已送达", "closed": "已办结",
                     "refused": "不予受理", "terminated": "已终止"}
CASE_DECISION_LABELS = {"approved": "准予办理", "not_approved": "不予批准"}
HANDOVER_LABELS = {"pickup": "窗口领取", "courier": "邮寄送达", "on_the_spot": "当场办结"}
# 容缺 materials (000 §9.3.6): owed → supplied; past the deadline they are overdue (an alert).
DEFERRED_MATERIAL_STATES = ("owed", "supplied")
# Pages the kiosk may scan for one owed material (a deed, a floor plan: a few pages, not a dossier).
SUPPLY_MAX_PAGES = 10
# Typed acceptance numbers at the kiosk (统一出件): numbers run in sequence, so look-ups by a typed number
# are limited per device and per client address within the window (brute force of numbers); a kiosk
# lane of one hall stays far below (a visitor types one number, perhaps twice). Several kiosks may share
# one address (the in-process agent, a NAT), hence the higher address limit.
NUMBER_LOOKUP_WINDOW_S = 600
NUMBER_LOOKUPS_PER_DEVICE = 20
NUMBER_LOOKUPS_PER_ADDRESS = 60
NUMBER_LOOKUP_BUSY_MESSAGE = "查询太频繁，请稍后再试，或到导办台咨询"
# The acceptance number (受理号): per hall and year; fields {hall} {yyyy} {seq}.
DEFAULT_ACCEPTANCE_FORMAT = "{hall}{yyyy}{seq:06d}"
# Alerts: a running case due within this many working days is "due soon"; a reminder SMS goes out
# this many working days before a deferred material's deadline.
DUE_SOON_WORKING_DAYS = 1
DEFERRED_REMINDER_WORKING_DAYS = 1
# Rights of review and suit told on a refusal (002 §8.5.5; 行政复议法 §20, 行政诉讼法 §46).
REVIEW_DAYS = 60
SUIT_MONTHS = 6
# Floor alerts of cases: due within the due-soon days, past the due date, a 容缺 material past its deadline.
CASE_ALERT_KINDS = ("case_due_soon", "case_overdue", "deferred_overdue")
# Case events sent to an external approval system (行政审批综合管理系统) as signed webhooks.
WEBHOOK_STATUSES = ("pending", "delivered", "failed")
# Who an outbox message is for: the approval system (case events) or the provincial 好差评 platform.
OUTBOX_CHANNELS = ("case", "province")
# An outbox message is retried (back-off up to an hour) until this old, then marked failed: a receiver down
# for an hour, or a weekend, loses nothing.
OUTBOX_GIVE_UP_AFTER_H = 72
# The floor alert raised when the outbox gives up on a case event (one open alert per hall, its count kept).
WEBHOOK_ALERT_KIND = "webhook_failed"
# Integration tokens for such a system are their own kind.
INTEGRATION_TOKEN_KIND = "approval"

# ---------------------------------------------------------------- kiosk devices
DEVICE_KINDS = ("idcard", "printer", "scanner")
DeviceKind = Literal[DEVICE_KINDS]  # type: ignore[valid-type]
DEVICE_STATES = ("online", "offline", "fault")
DeviceState = Literal[DEVICE_STATES]  # type: ignore[valid-type]

# ---------------------------------------------------------------- service levels (issue 17)
# Each watched figure is green below AMBER_SHARE of its target, amber up to the target, red past it
# (the reception screen turns red when a level is broken, as in Apertum QSystem).
SERVICE_LEVEL_STATES = ("green", "amber", "red")
SERVICE_LEVEL_AMBER_SHARE = 0.8
# The hall's targets and what a queue may override (None on the queue = the hall's).
SERVICE_LEVEL_TARGETS = ("sl_max_wait_s", "sl_max_service_s", "sl_max_idle_s", "sl_max_queue_len")
QUEUE_SERVICE_LEVEL_TARGETS = ("sl_max_wait_s", "sl_max_service_s", "sl_max_queue_len")
# Alerts a broken level raises (and clears once back within it): per queue a wait or a length, per window
# a service or an idle stretch while its queues have visitors waiting.
SERVICE_LEVEL_ALERT_KINDS = ("sl_wait", "sl_queue_len", "sl_service", "sl_idle")
# The clerk's emergency button (issue 17): an alarm until a manager acknowledges it.
EMERGENCY_ALERT_KIND = "emergency"
ALERT_KIND_LABELS = {"empty_post": "空岗", "long_wait": "等候超时", "device_fault": "设备故障",
                     "case_due_soon": "办件即将到期", "case_overdue": "办件超期", "deferred_overdue": "容缺材料逾期",
                     "sl_wait": "等候超标", "sl_queue_len": "排队过长", "sl_service": "办理超时",
                     "sl_idle": "有人等候时窗口空闲", "emergency": "紧急求助", "webhook_failed": "审批系统推送失败"}

# ---------------------------------------------------------------- guards against abuse (issue 17)
# Refusal codes a kiosk or booking page turns into its Chinese message.
GUARD_CODES = ("id_daily_cap", "slot_on_hold", "recall_limit", "recall_too_soon", "booking_blocked")

# ---------------------------------------------------------------- wait estimates (issue 17)
# The wait printed for a visitor is a range (as Munich's ZMS prints it), worked out in queueing/wait_range.py.
# Pace: the queue's calls per second while visitors waited over the last ESTIMATE_HISTORY_S, started from
# ESTIMATE_PRIOR_CALLS calls' worth of the windows now serving it (at least ESTIMATE_MIN_WINDOWS of a
# window) at the mean of its last ESTIMATE_SAMPLE services (the hall default below ESTIMATE_MIN_SAMPLE).
# The expected wait is (n − ESTIMATE_HEAD_CALLS) calls at that pace. Range: the band ± ESTIMATE_RANGE_Z
# (1.28: the central 80 %) of a Gamma spread whose squared CV adds the n calls ahead, the pace's own
# uncertainty and ESTIMATE_DRIFT² for staffing and mix changing while the visitor waits; never narrower than
# ESTIMATE_MIN_WIDTH_S. ESTIMATE_LOOKBACK bounds the tickets read for the history. Chosen on the estimator
# benchmark's standard seeds 1 and 2 at 65 % (bench/estimates_bench.py), checked on the others.
ESTIMATE_RANGE_Z = 1.28
ESTIMATE_HISTORY_S = 1800
ESTIMATE_PRIOR_CALLS = 4.0
ESTIMATE_DRIFT = 0.25
ESTIMATE_MIN_WINDOWS = 0.5
ESTIMATE_HEAD_CALLS = 0.5
ESTIMATE_MIN_WIDTH_S = 180
ESTIMATE_SAMPLE = 40
ESTIMATE_MIN_SAMPLE = 5
ESTIMATE_LOOKBACK = timedelta(hours=4)
# A queue's windows and recent tickets, as read for one issue's wait range, serve the next issues of that queue
# for up to this long (queueing/wait_range.py, "kept queue reads"); any other write of the same process ends
# them at once, so only a change made by another process is seen this late.
WAIT_READS_KEPT_S = 1.0
# Break plans (``Window.break_plan``): a window away now is matched to the planned stretch that starts
# within BREAK_MATCH_S of the moment it actually left, and is due back that stretch's length later —
# or in BREAK_OVERRUN_S when that moment has passed.
BREAK_MATCH_S = 3600
# A green ticket is called when a window's interleave wants green: one call in 1 + this (the default rule's
# "ordinary": 2); the estimate counts that many calls per green ticket before it.
GREEN_INTERLEAVE_ORDINARY = 2
BREAK_OVERRUN_S = 120

# The largest row id: ids are INTEGER columns (int4 on PostgreSQL). A larger number in a path, a query or a
# Socket.IO join names no row and must never reach the driver: PostgreSQL refuses it ("integer out of range").
MAX_ID = 2**31 - 1

# ---------------------------------------------------------------- patterns
# Digits are [0-9], never \d: Python's re and pydantic's regex both take \d for any Unicode digit, so
# "1٣٨٠٠١٣٨٠٠٠" (Arabic-Indic) or fullwidth "１３８…" passed as a phone number the SMS gateway cannot dial.
# A mainland mobile number (SMS reminders).
PHONE_PATTERN = r"^1[0-9]{10}$"
# Resident ID numbers: 18 digits (last may be X) or the old 15; other certificates 6–20 letters/digits.
ID18_PATTERN = r"^[0-9]{17}[0-9Xx]$"
ID15_PATTERN = r"^[0-9]{15}$"
ID_NUMBER_PATTERN = r"^([0-9]{17}[0-9Xx]|[0-9]{15}|[A-Za-z0-9]{6,20})$"
# Times of day in the configuration (24-hour).
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def client_vocabulary() -> dict[str, Any]:
    """The part of the vocabulary pages and scripts need, as plain JSON-able data."""
    return {
        "green_reasons": list(GREEN_REASONS),
        "elderly_age": ELDERLY_AGE,
        "bad_rating_max": BAD_RATING_MAX,
        "rating_scores": list(RATING_SCORES),
        "rectify_working_days": RECTIFY_WORKING_DAYS,
        "complaint_answer_working_days": COMPLAINT_ANSWER_WORKING_DAYS,
        "near_turn_ahead": NEAR_TURN_AHEAD,
        "outcomes": list(OUTCOMES),
        "window_kinds": list(WINDOW_KINDS),
        "consultation_channels": CONSULTATION_CHANNEL_LABELS,
        "consultation_reply_working_days": CONSULTATION_REPLY_WORKING_DAYS,
        "service_level_states": list(SERVICE_LEVEL_STATES),
        "alert_kind_labels": dict(ALERT_KIND_LABELS),
        "emergency_alert_kind": EMERGENCY_ALERT_KIND,
    }
