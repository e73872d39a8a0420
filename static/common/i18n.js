// Chinese and English labels, switchable. Elements with data-i18n="key" are relabelled.

const LABELS = {
  zh: {
    protocol: "主诉分类", age_years: "年龄(岁)", sex: "性别", last_known_well: "最后正常时间",
    female: "女", male: "男", unknown: "不详", pathway: "救治路径", onset: "发病", minutes_ago: "分钟前",
    looked_outside: "常规去向医院不具备该能力，已就近另选有该能力的医院", hospital_needs: "医院需具备",
    protocol_stroke: "卒中", protocol_chest_pain: "胸痛", protocol_major_trauma: "严重创伤",
    protocol_poisoning: "中毒", protocol_breathing: "呼吸困难", protocol_unconscious: "意识不清",
    protocol_obstetric: "产科急症", protocol_fever: "发热", protocol_psychiatric: "精神行为异常",
    protocol_other: "其他",
    sign_not_breathing_normally: "呼吸异常", sign_unresponsive: "呼之不应", sign_severe_bleeding: "大出血",
    sign_face_arm_speech: "口角歪斜/肢体无力/言语不清", sign_chest_pain_sweating: "胸痛伴大汗",
    sign_seizure: "抽搐", sign_low_spo2: "血氧低", sign_pale_cold_skin: "面色苍白湿冷",
    als: "高级生命支持", monitoring: "监护", negative_pressure: "负压", closed_loop_cap: "闭环专车",
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
    share_position: "共享位置", position_shared: "位置共享中", queued: "待发送", any_status: "全部状态", any_severity: "全部病情", short_ambulance: "救护车", short_negative_pressure_ambulance: "负压车", short_closed_loop_vehicle: "闭环车", short_monitoring_unit: "监护车", excl_declined: "已拒绝或未确认本事件", excl_not_in_service: "未在岗", excl_status: "当前状态", excl_lacks: "缺少", hub_offline_alert: "与调度中心失去连接", no_position_alert: "执行任务中但位置已过时", administration: "系统管理", accounts: "账号", devices: "设备", create_account: "新建账号", issue_token: "发放令牌",
    unit_or_hospital: "绑定车辆或医院", device_name: "设备名称", scan_to_pair: "用平板扫描二维码完成配对（仅显示一次）",
    disable: "停用", disabled: "已停用", revoke: "吊销", revoked: "已吊销", device_crew: "车组平板",
    device_hospital: "医院终端", device_telephony: "电话接口", role_call_taker: "受理员", role_dispatcher: "调度员",
    role_supervisor: "值班长", role_admin: "管理员", role_hospital: "医院", role_crew: "车组", role_telephony: "电话接口", message_to_crew: "发给车组的消息", urgent_message: "紧急", override_status: "代车组更改状态", override_apply: "更改", message_sent: "消息已发送", test_call: "测试来电", keyboard: "键盘操作", key_answer: "接听分配给我的（或最早的）来电", key_save: "保存事件并决策",
    key_dispatch: "派出第一推荐车辆", key_end: "结束当前通话", key_alert: "处理最新提醒", key_alert_ack: "知悉最新提醒",
    key_help: "显示本帮助", incidents: "事件列表", search_incidents: "编号、来电号码或关键词", search: "查找", open_now: "当前未结",
    incident_open: "待派", incident_dispatched: "已派", incident_closed: "已结束", incident_cancelled: "已取消",
    no_open_incidents: "暂无未结事件", nothing_found: "未找到", reopen: "重新打开", reopen_reason: "重新打开的原因", close: "关闭", years_old: "岁", hospital_title: "医院终端", or_device_token: "或输入设备令牌", incoming_patients: "来院患者",
    capacity: "床位与容量", acknowledge_notice: "已收到预通知", take_over: "已接收患者", notice_seen: "已确认预通知",
    no_incoming: "暂无来院患者", not_a_hospital: "此账号未绑定医院", capacity_general: "普通床位",
    capacity_icu: "重症监护", capacity_dialysis: "透析", capacity_delivery: "产房", capacity_neonatal: "新生儿",
    capacity_oncology: "肿瘤", handover: "交接", lost_declined: "拒绝出车", lost_timed_out: "超时未确认", lost_cancelled: "停运退出任务", next_unit: "建议改派",
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
    // Codes the hub sends, in words (issue 21: both languages everywhere).
    monitoring_unit: "监护型救护车", medical_point_team: "医疗点巡诊队", short_medical_point_team: "医疗点",
    cap_ambulance: "救护车", cap_negative_pressure: "负压", cap_monitoring: "监护", cap_als: "高级生命支持",
    cap_closed_loop: "闭环专车", cap_home_visit: "上门服务",
    hcap_emergency: "急诊", hcap_obstetrics: "产科", hcap_neonatal: "新生儿救治", hcap_paediatrics: "儿科",
    hcap_dialysis: "血液透析", hcap_oncology: "肿瘤科", hcap_psychiatry: "精神科", hcap_fever_clinic: "发热门诊",
    hcap_designated_infectious: "新冠定点医院", hcap_yellow_code: "黄码医院", hcap_makeshift: "方舱医院",
    hcap_icu: "重症监护", hcap_trauma: "创伤中心", hcap_stroke: "卒中中心", hcap_chest_pain: "胸痛中心",
    hcap_poisoning: "中毒救治",
    infant: "婴儿（1岁以下）", referred: "社区上转", rule_always: "无条件适用",
    guard_critical_no_paperwork: "危急重症患者不等任何手续",
    guard_critical_by_ambulance: "危急重症患者由120救护车转运",
    guard_negative_pressure: "确诊、疑似、隔离人员及救护车转运的封控区患者需负压救护车",
    guard_critical_unit: "危急重症患者需高级生命支持，感染者另需监护",
    guard_critical_transport: "危急重症患者由120救护车转运，不分流至社区",
    guard_no_referral_when_isolating: "封控区、隔离或感染患者不自行前往",
    guard_pathway_capability: "救治路径所需能力：改送最近具备该能力的开放医院",
    pathway_needs: "需要", callback_pending: "待回拨", callback_dialling: "回拨中", callback_resolved: "已处理",
    min_short: "分钟", hours_short: "小时", test_call_pill: "测试", line_test: "测试", line_demo: "演示", w_15m: "15分钟", w_1h: "1小时", w_24h: "24小时",
    coverage_warning: "{name}：仅{share}的人口在可用救护车{radius}公里服务半径内",
    tl_call_received: "来电", tl_call_answer: "接听", tl_call_abandoned: "来电方挂断", tl_call_ended: "通话结束",
    tl_call_transfer: "转接", tl_incident_create: "登记事件", tl_incident_update: "更新事件",
    tl_incident_link_call: "关联来电", tl_incident_reopen: "重新打开", tl_incident_escalated: "社区处置超时，改为转运",
    tl_assignment_dispatch: "派车", tl_assignment_reroute: "改送其他医院", tl_handover_done: "完成交接",
    tl_handover_notice_acknowledged: "医院确认预通知", tl_unit: "车辆",
    waiting_for_job: "待命中，新任务会自动显示在这里", no_handovers: "暂无送院交接", rules_applied: "适用规则", assignment_proposed: "待车组确认", assignment_confirmed: "待车组确认", assignment_acknowledged: "车组已接单",
  },
  en: {
    protocol: "Complaint protocol", age_years: "Age (years)", sex: "Sex", last_known_well: "Last known well",
    female: "Female", male: "Male", unknown: "Unknown", pathway: "Pathway", onset: "Onset",
    minutes_ago: "min ago", looked_outside: "the usual hospital lacks this care: the nearest with it instead",
    hospital_needs: "Hospital needs",
    protocol_stroke: "Stroke", protocol_chest_pain: "Chest pain", protocol_major_trauma: "Major trauma",
    protocol_poisoning: "Poisoning", protocol_breathing: "Breathing difficulty",
    protocol_unconscious: "Unconscious", protocol_obstetric: "Obstetric emergency",
    protocol_fever: "Fever", protocol_psychiatric: "Psychiatric emergency", protocol_other: "Other",
    sign_not_breathing_normally: "Not breathing normally", sign_unresponsive: "Unresponsive",
    sign_severe_bleeding: "Severe bleeding", sign_face_arm_speech: "Face, arm or speech affected",
    sign_chest_pain_sweating: "Chest pain with sweating", sign_seizure: "Seizure",
    sign_low_spo2: "Low oxygen saturation", sign_pale_cold_skin: "Pale, cold skin",
    als: "Advanced life support", monitoring: "Monitoring", negative_pressure: "Negative pressure",
    closed_loop_cap: "Closed-loop vehicle",
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
    share_position: "Share position", position_shared: "Sharing position", queued: "Queued", any_status: "Any status", any_severity: "Any severity", short_ambulance: "Ambulance", short_negative_pressure_ambulance: "Neg. pressure", short_closed_loop_vehicle: "Closed loop", short_monitoring_unit: "Monitoring", excl_declined: "declined or did not acknowledge this incident", excl_not_in_service: "not in service", excl_status: "status", excl_lacks: "lacks", hub_offline_alert: "The hub is out of reach", no_position_alert: "on a job but its position is stale", administration: "Administration", accounts: "Accounts", devices: "Devices", create_account: "Create account", issue_token: "Issue token",
    unit_or_hospital: "Unit or hospital", device_name: "Device name", scan_to_pair: "Scan the QR code with the tablet to pair it (shown once)",
    disable: "Disable", disabled: "Disabled", revoke: "Revoke", revoked: "Revoked", device_crew: "Crew tablet",
    device_hospital: "Hospital terminal", device_telephony: "Telephony", role_call_taker: "Call-taker", role_dispatcher: "Dispatcher",
    role_supervisor: "Supervisor", role_admin: "Admin", role_hospital: "Hospital", role_crew: "Crew", role_telephony: "Telephony", message_to_crew: "Message to the crew", urgent_message: "Urgent", override_status: "Change the status for the crew", override_apply: "Change", message_sent: "Message sent", test_call: "Test call", keyboard: "Keyboard", key_answer: "Answer the call offered to me (or the oldest)", key_save: "Save the incident and decide",
    key_dispatch: "Dispatch the first recommended unit", key_end: "End the call in hand", key_alert: "Act on the newest alert", key_alert_ack: "Acknowledge the newest alert",
    key_help: "Show this help", incidents: "Incidents", search_incidents: "Number, caller's number or words", search: "Find", open_now: "Open now",
    incident_open: "To dispatch", incident_dispatched: "Dispatched", incident_closed: "Closed", incident_cancelled: "Cancelled",
    no_open_incidents: "No open incidents", nothing_found: "Nothing found", reopen: "Reopen", reopen_reason: "Why it is reopened", close: "Close", years_old: "years", hospital_title: "Hospital terminal", or_device_token: "or enter a device token", incoming_patients: "Incoming patients",
    capacity: "Beds and capacity", acknowledge_notice: "Notice received", take_over: "Patient taken over", notice_seen: "Notice acknowledged",
    no_incoming: "No patients on their way", not_a_hospital: "This account is not bound to a hospital", capacity_general: "General beds",
    capacity_icu: "ICU", capacity_dialysis: "Dialysis", capacity_delivery: "Delivery", capacity_neonatal: "Neonatal",
    capacity_oncology: "Oncology", handover: "Handover", lost_declined: "declined", lost_timed_out: "did not acknowledge", lost_cancelled: "went out of service", next_unit: "next",
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
    // Codes the hub sends, in words (issue 21: both languages everywhere).
    monitoring_unit: "Monitoring ambulance", medical_point_team: "Medical point team", short_medical_point_team: "Med. point",
    cap_ambulance: "Ambulance", cap_negative_pressure: "Negative pressure", cap_monitoring: "Monitoring",
    cap_als: "Advanced life support", cap_closed_loop: "Closed-loop vehicle", cap_home_visit: "Home visit",
    hcap_emergency: "emergency department", hcap_obstetrics: "obstetrics", hcap_neonatal: "neonatal care",
    hcap_paediatrics: "paediatrics", hcap_dialysis: "dialysis", hcap_oncology: "oncology", hcap_psychiatry: "psychiatry",
    hcap_fever_clinic: "fever clinic", hcap_designated_infectious: "designated infectious-disease hospital",
    hcap_yellow_code: "yellow-code hospital", hcap_makeshift: "makeshift hospital", hcap_icu: "intensive care",
    hcap_trauma: "trauma centre", hcap_stroke: "stroke centre", hcap_chest_pain: "chest-pain centre",
    hcap_poisoning: "poisoning treatment",
    infant: "Infant (under 1)", referred: "Referred by a community centre", rule_always: "always applies",
    guard_critical_no_paperwork: "Critical patients never wait for paperwork",
    guard_critical_by_ambulance: "Critical patients travel by 120 ambulance",
    guard_negative_pressure: "Infected, suspected or isolated patients, and sealed-area patients carried by ambulance, need a negative-pressure unit",
    guard_critical_unit: "Critical patients need advanced life support, and monitoring when infected",
    guard_critical_transport: "Critical patients go by 120 ambulance, not to community care",
    guard_no_referral_when_isolating: "Sealed-area, isolated or infected patients do not travel on their own",
    guard_pathway_capability: "The pathway's care: the nearest open hospital that has it instead",
    pathway_needs: "needs", callback_pending: "to call back", callback_dialling: "calling back", callback_resolved: "resolved",
    min_short: "min", hours_short: "h", test_call_pill: "Test", line_test: "test", line_demo: "demo", w_15m: "15 min", w_1h: "1 h", w_24h: "24 h",
    coverage_warning: "{name}: only {share} of people within {radius} km of an available ambulance",
    tl_call_received: "Call rang", tl_call_answer: "Answered", tl_call_abandoned: "Caller hung up",
    tl_call_ended: "Call ended", tl_call_transfer: "Transferred", tl_incident_create: "Incident recorded",
    tl_incident_update: "Incident updated", tl_incident_link_call: "Call linked", tl_incident_reopen: "Reopened",
    tl_incident_escalated: "Community care overdue: sent as a transport", tl_assignment_dispatch: "Unit dispatched",
    tl_assignment_reroute: "Sent to another hospital", tl_handover_done: "Handed over",
    tl_handover_notice_acknowledged: "Hospital acknowledged the notice", tl_unit: "Unit",
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

/** Whether a label exists for `key` (the hub's codes are shown only through a label). */
export function known(key) {
  return key in LABELS.zh || key in LABELS.en;
}

/** A label with {placeholders} filled in. */
export function tf(key, values) {
  return t(key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** The name of a hospital, place, post, zone or sub-district in the screen's language. */
export function named(thing) {
  if (!thing) return "";
  return lang === "zh" ? (thing.name_zh || thing.name || "") : (thing.name || thing.name_zh || "");
}

const CJK = /[\u3400-\u9fff]/;

/** One language of a text written both ways, `中文 (English)` (crew notes, the hub's reasons);
 *  a text not written so is shown as it is. */
export function oneOf(text) {
  if (!text || !text.endsWith(")")) return text || "";
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i -= 1) {
    if (text[i] === ")") depth += 1;
    else if (text[i] === "(" && (depth -= 1) === 0) {
      const zh = text.slice(0, i).trim();
      const en = text.slice(i + 1, -1).trim();
      if (!CJK.test(zh) || CJK.test(en) || !en) return text;
      return lang === "zh" ? zh : en;
    }
  }
  return text;
}

/** Why the hub chose a hospital or a place, in the screen's language. */
export function reasonOf(choice) {
  if (!choice) return "";
  const one = lang === "zh" ? choice.reason_zh : choice.reason_en;
  return one || oneOf(choice.reason || "");
}

/** A unit capability in words. */
export function capability(code) {
  return t(`cap_${code}`);
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
