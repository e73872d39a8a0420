// Chinese and English labels, switchable. Elements with data-i18n="key" are relabelled.

const LABELS = {
  zh: {
    console_title: "120 调度台", crew_title: "车组平板", username: "用户名", password: "密码",
    sign_in: "登录", sign_out: "注销", device_token: "设备令牌", wrong_login: "用户名或密码错误", online: "在线", offline: "离线 · 正在重连",
    language: "English", position: "席位", user: "调度员", login: "登录席位", logout: "退出",
    state_ready: "就绪", state_not_ready: "未就绪", state_wrap_up: "话后处理", state_on_call: "通话中",
    state_dialling: "回拨中", state_logged_out: "未登录",
    ringing: "振铃队列", answer: "接听", line: "线路", caller: "来电号码", ringing_for: "振铃",
    priority: "优先线路", offered_to: "分配给", no_ringing: "暂无振铃电话", hang_up: "结束通话",
    my_call: "当前通话", withheld: "号码隐藏",
    incident: "事件登记", address: "地址", lat: "纬度", lon: "经度", pick_on_map: "在地图上点选",
    severity: "病情", critical: "危急重症", urgent: "紧急", non_urgent: "非紧急",
    category: "患者类别", ordinary: "普通", pregnant: "孕产妇", newborn: "新生儿/婴幼儿",
    dialysis: "透析", cancer: "肿瘤放化疗", chronic: "慢性病", psychiatric: "精神病患者",
    disabled: "残疾人", immobile_elderly: "行动不便老人",
    infection: "感染状态", none: "无", suspected: "疑似", confirmed: "确诊",
    flags: "情况", isolation: "隔离观察", has_certificate: "已有社区证明", in_labour: "临产",
    fever: "发热", danger_signs: "危险征象", needs_oxygen: "需要吸氧", prescription_refill: "续方",
    complaint: "主诉", notes: "备注", registered_hospital: "建档/签约医院", treating_hospital: "原治疗医院",
    save_incident: "保存并决策", saved: "已保存", required: "必填",
    decision: "去向决策", destination: "目的医院", transport: "转运方式", ambulance: "救护车",
    negative_pressure_ambulance: "负压救护车", closed_loop_vehicle: "闭环专车", self_travel: "自行前往",
    capabilities: "车辆要求", paperwork: "手续", community_certificate: "社区身份证明", crew_notes: "车组提示",
    zone: "所在区域", why: "依据", no_decision: "保存事件后显示去向",
    recommendations: "推荐车辆", eta: "预计到达", distance: "距离", assign: "派车", confirm: "确认派车",
    override: "改派", override_reason: "改派理由", excluded: "未推荐", no_candidates: "无可用车辆",
    units: "车辆状态", available: "待命", assigned: "已派", acknowledged: "已确认", en_route: "出车途中",
    on_scene: "到达现场", transporting: "转运中", at_hospital: "到达医院", handover_done: "交接完成",
    disinfecting: "洗消中", out_of_service: "停运", stale: "位置过时",
    map: "地图", slo: "接听指标", within_target: "10秒接听率", p95: "P95接听", abandoned: "放弃呼叫",
    callbacks_pending: "待回拨", staffing: "需就绪席位", ready_now: "当前就绪", answer_rate: "应答率",
    callbacks: "回拨队列", call_back: "回拨", reached: "已联系", no_answer: "无人接听", busy: "占线",
    wrong_number: "号码错误", resolved_elsewhere: "已另行处理", attempts: "次",
    alerts: "告警", escalated: "超时升级", breach: "超过10秒未接", resync: "已重新同步",
    sealed: "封控区", controlled: "管控区", precaution: "防范区", normal: "一般区域",
    open: "开诊", suspended: "停诊", hospitals: "医院", posts: "急救站点", handovers: "交接计时",
    job: "当前任务", no_job: "暂无任务", ack: "确认接单", decline: "拒绝", ack_within: "请在此时间内确认",
    share_position: "共享位置", position_shared: "位置共享中", queued: "待发送", handover: "交接", lost_declined: "拒绝出车", lost_timed_out: "超时未确认", lost_cancelled: "停运退出任务", next_unit: "建议改派",
    acknowledge: "知道了", handover_overdue: "交接超时", waiting_to_send: "等待发送", sent_at: "点击于", handover_reason: "医院尚未确认交接，请选择原因",
    hospital_not_on_system: "医院未接入系统", no_response_within_target: "医院超时未响应",
    handed_over_in_person: "已当面交接给医护人员", hospital_confirmed: "医院已确认交接",
    hospital_acknowledged: "医院已收到预通知", hospital_waiting: "医院尚未确认", cancel: "取消",
    send_refused: "调度中心拒绝了此操作", unpaired: "设备令牌已失效，请重新配对", messages: "调度消息",
    reason: "理由", send: "发送", patient: "患者", closed_loop: "闭环管理：点对点转运，返回需专车接回",
    refer: "转介", home_visit: "上门服务", callback_by_doctor: "医生回电",
    outcome: "处置方式", place: "转介去处", phone: "电话", hours: "开放时间", hours_24h: "24小时",
    not_known: "未知", approximate: "位置为约略", team: "上门团队",
    fever_clinic: "发热门诊", community_health_centre: "社区卫生服务中心", night_clinic: "夜门诊",
    oxygen_station: "氧疗站", family_doctor_team: "家庭医生团队", temporary_medical_point: "临时医疗点",
    dir_N: "向北", dir_NE: "向东北", dir_E: "向东", dir_SE: "向东南", dir_S: "向南", dir_SW: "向西南",
    dir_W: "向西", dir_NW: "向西北",
    offline_banner: "与调度中心的连接已断开，正在重连；重连后补收期间的事件",
    incident_idle: "接听电话后在此登记事件", no_recommendations: "决策后显示可派车辆",
    fleet_unavailable: "本调度中心尚未启用车辆调派", dispatched: "已派车",
    // Quality control (static/console/quality.js; definitions in docs/quality.md).
    quality: "质量控制", quality_title: "质量控制指标", q_15m: "近15分钟", q_1h: "近1小时", q_24h: "近24小时",
    q_month: "按月", q_whole_centre: "全中心", q_report: "月报", q_close: "关闭", q_indicator: "指标",
    q_value: "数值", q_target: "目标", q_status: "是否达标", q_holds: "达标", q_fails: "未达标",
    q_answered_within_10s: "10秒接听率", q_answer_rate: "应答率（含回拨）", q_answer_p90: "接听时间P90",
    q_answer_to_dispatch_p90: "受理至派车P90", q_turnout_within_3min: "3分钟出车率", q_turnout_p90: "出车时间P90",
    q_response_p50: "反应时间P50（呼救至到达现场）", q_response_p90: "反应时间P90（呼救至到达现场）",
    q_on_scene_p50: "现场处置时间P50", q_transport_p50: "转运时间P50", q_handover_within_15min: "15分钟交接率",
    q_handover_refusals: "拒收", q_community_care_share: "社区分流占比", q_response_by: "反应时间（按区域、病情）",
    q_by_sub_district: "按街道", q_incidents: "事件", q_stood_down: "出车前取消", q_called_back: "已回拨", q_arrivals: "送达医院",
    q_coverage: "当前覆盖", q_covered: "服务半径内人口", q_np_fleet: "负压车占比（车队）", q_np_available: "负压车占比（待命）",
    q_out_of_cover: "未覆盖街道",
    waiting_for_job: "待命中，新任务会自动显示在这里", no_handovers: "暂无送院交接", rules_applied: "适用规则", assignment_proposed: "待车组确认", assignment_confirmed: "待车组确认", assignment_acknowledged: "车组已接单",
  },
  en: {
    console_title: "120 Dispatch console", crew_title: "Crew tablet", username: "Username",
    password: "Password", sign_in: "Sign in", sign_out: "Sign out", device_token: "Device token",
    wrong_login: "Wrong username or password", online: "Online",
    offline: "Offline · reconnecting", language: "中文", position: "Position", user: "Call-taker",
    login: "Log in", logout: "Log out", state_ready: "Ready", state_not_ready: "Not ready",
    state_wrap_up: "Wrap-up", state_on_call: "On call", state_dialling: "Calling back",
    state_logged_out: "Logged out",
    ringing: "Ringing calls", answer: "Answer", line: "Line", caller: "Caller", ringing_for: "Ringing",
    priority: "Priority line", offered_to: "Offered to", no_ringing: "No calls ringing",
    hang_up: "End call", my_call: "My call", withheld: "Number withheld",
    incident: "Incident", address: "Address", lat: "Latitude", lon: "Longitude",
    pick_on_map: "Pick on map", severity: "Severity", critical: "Critical", urgent: "Urgent",
    non_urgent: "Non-urgent", category: "Patient", ordinary: "Ordinary", pregnant: "Pregnant",
    newborn: "Newborn / infant", dialysis: "Dialysis", cancer: "Cancer treatment", chronic: "Chronic",
    psychiatric: "Psychiatric", disabled: "Disabled", immobile_elderly: "Immobile elderly",
    infection: "Infection", none: "None", suspected: "Suspected", confirmed: "Confirmed",
    flags: "Flags", isolation: "Under isolation", has_certificate: "Has community certificate",
    in_labour: "In labour", fever: "Fever", danger_signs: "Danger signs", needs_oxygen: "Needs oxygen",
    prescription_refill: "Prescription refill", complaint: "Complaint", notes: "Notes",
    registered_hospital: "Registered hospital", treating_hospital: "Treating hospital",
    save_incident: "Save and decide", saved: "Saved", required: "Required",
    decision: "Routing decision", destination: "Destination", transport: "Transport",
    ambulance: "Ambulance", negative_pressure_ambulance: "Negative-pressure ambulance",
    closed_loop_vehicle: "Closed-loop vehicle", self_travel: "Travels by themselves",
    capabilities: "Unit needs", paperwork: "Paperwork", community_certificate: "Community certificate",
    crew_notes: "Crew notes", zone: "Zone", why: "Why", no_decision: "Save the incident to see where the patient goes",
    recommendations: "Recommended units", eta: "ETA", distance: "Distance", assign: "Assign",
    confirm: "Confirm", override: "Override", override_reason: "Reason for override",
    excluded: "Not recommended", no_candidates: "No unit can go",
    units: "Unit board", available: "Available", assigned: "Assigned", acknowledged: "Acknowledged",
    en_route: "En route", on_scene: "On scene", transporting: "Transporting", at_hospital: "At hospital",
    handover_done: "Handed over", disinfecting: "Disinfecting", out_of_service: "Out of service",
    stale: "Position stale", map: "Map", slo: "Answer target", within_target: "Answered ≤ 10 s",
    p95: "p95 answer", abandoned: "Abandoned", callbacks_pending: "Callbacks owed",
    staffing: "Ready needed", ready_now: "Ready now", answer_rate: "Answer rate",
    callbacks: "Callbacks", call_back: "Call back", reached: "Reached", no_answer: "No answer",
    busy: "Busy", wrong_number: "Wrong number", resolved_elsewhere: "Resolved elsewhere",
    attempts: "tries", alerts: "Alerts", escalated: "Escalated", breach: "Not answered in 10 s",
    resync: "Reloaded", sealed: "Sealed area", controlled: "Controlled area",
    precaution: "Precaution area", normal: "Normal", open: "Open", suspended: "Suspended",
    hospitals: "Hospitals", posts: "Posts", handovers: "Handover clocks", job: "Current job",
    no_job: "No job", ack: "Acknowledge", decline: "Decline", ack_within: "Acknowledge within",
    share_position: "Share position", position_shared: "Sharing position", queued: "Queued", handover: "Handover", lost_declined: "declined", lost_timed_out: "did not acknowledge", lost_cancelled: "went out of service", next_unit: "next",
    acknowledge: "Acknowledge", handover_overdue: "Handover overdue", waiting_to_send: "Waiting to send", sent_at: "tapped at", handover_reason: "The hospital has not confirmed: say why",
    hospital_not_on_system: "Hospital not on the system", no_response_within_target: "No response from the hospital in time",
    handed_over_in_person: "Handed over in person to staff", hospital_confirmed: "Hospital confirmed the handover",
    hospital_acknowledged: "Hospital has the pre-arrival notice", hospital_waiting: "Hospital has not confirmed", cancel: "Cancel",
    send_refused: "The hub refused this", unpaired: "This device token is no longer valid: pair again",
    messages: "Messages", reason: "Reason", send: "Send", patient: "Patient",
    closed_loop: "Closed loop: point to point; a dedicated vehicle brings the patient back",
    refer: "Refer", home_visit: "Home visit", callback_by_doctor: "Doctor calls back",
    outcome: "Outcome", place: "Send to", phone: "Phone", hours: "Hours", hours_24h: "24 hours",
    not_known: "Not known", approximate: "approximate location", team: "Visiting team",
    fever_clinic: "Fever clinic", community_health_centre: "Community health centre",
    night_clinic: "Night clinic", oxygen_station: "Oxygen station",
    family_doctor_team: "Family-doctor team", temporary_medical_point: "Temporary medical point",
    dir_N: "north", dir_NE: "north-east", dir_E: "east", dir_SE: "south-east", dir_S: "south",
    dir_SW: "south-west", dir_W: "west", dir_NW: "north-west",
    offline_banner: "Connection to the hub lost, reconnecting; missed events follow on reconnect",
    incident_idle: "Answer a call to record its incident here",
    no_recommendations: "Units that can go appear once the patient's destination is decided",
    fleet_unavailable: "Unit dispatch is not enabled on this hub", dispatched: "Dispatched",
    waiting_for_job: "Standing by: a new job shows here by itself",
    no_handovers: "No patients on the way to or waiting at a hospital",
    rules_applied: "Rules that decided it",
    assignment_proposed: "awaiting the crew", assignment_confirmed: "awaiting the crew",
    assignment_acknowledged: "crew acknowledged",
    // Quality control (static/console/quality.js; definitions in docs/quality.md).
    quality: "Quality", quality_title: "Quality indicators", q_15m: "Last 15 min", q_1h: "Last hour",
    q_24h: "Last 24 h", q_month: "A month", q_whole_centre: "Whole centre", q_report: "Monthly report",
    q_close: "Close", q_indicator: "Indicator", q_value: "Value", q_target: "Target", q_status: "Holds?",
    q_holds: "holds", q_fails: "fails", q_answered_within_10s: "Answered within 10 s",
    q_answer_rate: "Answer rate (with callbacks)", q_answer_p90: "Answer time P90",
    q_answer_to_dispatch_p90: "Answer to dispatch P90", q_turnout_within_3min: "Out within 3 min",
    q_turnout_p90: "Turnout P90", q_response_p50: "Response P50 (call to on scene)",
    q_response_p90: "Response P90 (call to on scene)", q_on_scene_p50: "On-scene time P50",
    q_transport_p50: "Transport time P50", q_handover_within_15min: "Handed over within 15 min",
    q_handover_refusals: "Refusals", q_community_care_share: "Resolved by community care",
    q_response_by: "Response time by zone and severity", q_by_sub_district: "By sub-district",
    q_incidents: "Incidents", q_stood_down: "Stood down before leaving", q_called_back: "Called back", q_arrivals: "Arrivals at hospital",
    q_coverage: "Coverage now", q_covered: "Population within the service radius",
    q_np_fleet: "Negative-pressure share (fleet)", q_np_available: "Negative-pressure share (available)",
    q_out_of_cover: "Sub-districts out of cover",
  },
};

let lang = localStorage.getItem("dispatch.lang") || "zh";

export function t(key) {
  return LABELS[lang][key] ?? LABELS.en[key] ?? key;
}

export function currentLang() {
  return lang;
}

export function setLang(next) {
  lang = next in LABELS ? next : "zh";
  localStorage.setItem("dispatch.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  translate(document);
}

export function toggleLang() {
  setLang(lang === "zh" ? "en" : "zh");
}

export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}
