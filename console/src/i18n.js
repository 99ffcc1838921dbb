// Words of the console in Simplified Chinese (the default: its users are Chinese
// administrations) and English. Every label, rule name, deal kind and status has both; rule
// codes (INV-n, AR-n, K-n) are always shown beside their names. Dates stay ISO (YYYY-MM-DD)
// in both languages; amounts are formatted by their currency.

const LABELS = {
  title: ["专利交易账本控制台", "Patent ledger console"],
  signIn: ["登录", "Sign in"], signOut: ["退出", "Sign out"],
  apiKey: ["API 密钥", "API key"],
  keyHint: ["密钥只保存在本浏览器会话中，以 Bearer 头发送，不会出现在网址中。",
    "The key stays in this browser session only, is sent as a Bearer header and never appears in a URL."],
  signedInAs: ["当前角色", "Signed in as"],
  language: ["语言", "Language"],
  nav: ["导航", "Navigation"],
  anomalies: ["异常队列", "Anomaly queue"], patent: ["专利", "Patent"], party: ["主体", "Party"],
  pledges: ["质押簿", "Pledges"], indicators: ["指标", "Indicators"], health: ["账本状态", "Ledger health"],
  graphiql: ["GraphQL 控制台", "GraphiQL"], apiDocs: ["接口文档", "API docs"],
  loading: ["正在加载…", "Loading…"], working: ["正在处理…", "Working…"],
  noRows: ["没有记录。", "Nothing to show."], more: ["加载更多", "Load more"],
  search: ["查询", "Search"], apply: ["应用", "Apply"], filters: ["筛选", "Filters"],
  rule: ["规则", "Rule"], region: ["地区", "Region"], from: ["起始日期", "From"], to: ["截止日期", "To"],
  order: ["排序", "Order"], newest: ["最新优先", "Newest first"], highestScore: ["评分最高优先", "Highest score first"],
  status: ["状态", "Status"], any: ["全部", "Any"], score: ["评分", "Score"], detectedOn: ["发现日期", "Detected on"],
  explanation: ["说明", "Explanation"], evidence: ["证据事件", "Evidence events"], parties: ["主体", "Parties"],
  patents: ["专利", "Patents"], note: ["备注", "Note"], confirm: ["确认异常", "Confirm"], dismiss: ["驳回", "Dismiss"],
  finding: ["处理结论", "Finding"], gradeAfter: ["处理后信用等级", "Grade after the finding"],
  waitingProjection: ["等待投影更新…", "Waiting for the projection…"],
  number: ["专利号", "Patent number"], asOf: ["法律生效日 (asOf)", "Effective date (asOf)"],
  asKnownAt: ["账本记录时点 (asKnownAt)", "As known at (asKnownAt)"],
  titleField: ["名称", "Title"], kind: ["类型", "Kind"], filedOn: ["申请日", "Filed on"],
  grantedOn: ["授权日", "Granted on"], expiresOn: ["届满日", "Expires on"], owners: ["权利人", "Owners"],
  share: ["份额", "Share"], licences: ["许可", "Licences"], licensee: ["被许可人", "Licensee"],
  licenceKind: ["许可类型", "Licence kind"], startsOn: ["开始日", "Starts on"], endsOn: ["结束日", "Ends on"],
  inForce: ["有效", "In force"], pledge: ["质押", "Pledge"], pledgee: ["质权人", "Pledgee"],
  pledgors: ["出质人", "Pledgors"], securedAmount: ["担保金额", "Secured amount"], dueOn: ["到期日", "Due on"],
  registeredOn: ["登记日", "Registered on"], defaultedOn: ["违约日", "Defaulted on"],
  outstanding: ["未偿金额", "Outstanding"], history: ["历史时间线", "History (timeline)"],
  position: ["位置", "Position"], effectiveOn: ["生效日", "Effective on"], recordedAt: ["记录时间", "Recorded at"],
  hash: ["哈希", "Hash"], proof: ["包含证明", "Inclusion proof"], downloadProof: ["下载证明 JSON", "Download proof JSON"],
  noProof: ["尚无签名检查点覆盖", "No signed checkpoint covers it yet"], deal: ["交易", "Deal"],
  partyId: ["主体代码", "Party id"], name: ["名称", "Name"], size: ["规模", "Size"],
  holdings: ["持有专利", "Holdings"], deals: ["交易", "Deals"], credit: ["信用等级", "Credit grade"],
  reasons: ["理由", "Reasons"], listings: ["名单记录", "Listings"], grounds: ["依据", "Grounds"],
  list: ["名单", "List"], blacklisted: ["在名单中", "Listed"], yes: ["是", "yes"], no: ["否", "no"],
  totals: ["合计", "Totals"], totalsNote: ["按状态与币种合计（逐页读取整个质押簿）", "By status and currency (the whole book, read page by page)"],
  count: ["数量", "Count"], pledgeePlaceholder: ["质权人主体代码（可选）", "Pledgee party id (optional)"],
  granularity: ["周期", "Period"], quarter: ["季度", "Quarter"], year: ["年度", "Year"], month: ["月度", "Month"],
  recipientKind: ["受让方类型", "Recipient kind"], excludeFlagged: ["排除被标记的交易", "Leave flagged deals out"],
  programme: ["规划", "Programme"], none: ["无", "None"], indicator: ["指标", "Indicator"],
  period: ["期间", "Period"], dimension: ["维度", "Dimension"], value: ["数值", "Value"], amount: ["金额", "Amount"],
  target: ["目标", "Target"], expected: ["目标路径", "Target path"], progress: ["进度", "Progress"],
  exportCsv: ["导出 CSV", "Export CSV"], chart: ["图表", "Chart"],
  headPosition: ["日志头位置", "Head position"], projection: ["投影", "Projection"], lag: ["滞后", "Lag"],
  updatedAt: ["更新时间", "Updated at"], error: ["错误", "Error"], checkpoint: ["最新签名检查点", "Last signed checkpoint"],
  treeSize: ["树大小", "Tree size"], signedAt: ["签名时间", "Signed at"], keyId: ["密钥标识", "Key id"],
  root: ["默克尔根", "Merkle root"], verification: ["最近一次校验 (verify)", "Last verify"],
  passed: ["通过", "passed"], failed: ["未通过", "failed"], neverVerified: ["从未运行 patent-ledger verify", "patent-ledger verify never ran"],
  verifiedAt: ["校验时间", "Verified at"], events: ["事件数", "Events"], notPermitted: ["您的角色无权查看此页面。", "Your role may not see this page."],
  notFound: ["未找到。", "Not found."], problem: ["问题", "Problem"], signInFirst: ["请先用 API 密钥登录。", "Sign in with an API key first."],
  skip: ["跳到主要内容", "Skip to content"], refresh: ["刷新", "Refresh"], pageOf: ["已显示", "Shown"],
  rowsShown: ["已显示 {shown} / {total} 条", "{shown} of {total} shown"],
  // dates: ISO in both languages, whatever the browser's locale
  isoHint: ["格式 YYYY-MM-DD", "Format YYYY-MM-DD"], momentHint: ["格式 YYYY-MM-DD HH:MM:SS（UTC）", "Format YYYY-MM-DD HH:MM:SS (UTC)"],
  badDate: ["日期须为 YYYY-MM-DD 格式的真实日期，例如 2022-03-01。", "A date must be a real date written YYYY-MM-DD, e.g. 2022-03-01."],
  badMoment: ["时点须为 YYYY-MM-DD HH:MM:SS（UTC），例如 2022-03-01 08:30:00。", "A moment must be written YYYY-MM-DD HH:MM:SS (UTC), e.g. 2022-03-01 08:30:00."],
  // issue 18 (conversions, products, pools, IPC, qualifications) and issue 19 (pledge finance)
  conversions: ["转化成果", "Conversion outcomes"], category: ["类别", "Category"], since: ["起始日", "Since"],
  products: ["专利产品备案", "Patent products"], product: ["产品", "Product"], productId: ["产品编号", "Product id"],
  intensive: ["专利密集型", "Patent-intensive"], reports: ["年度报告", "Yearly reports"], yearField: ["年份", "Year"],
  outputValue: ["产值", "Output value"], employees: ["带动就业人数", "Employees"], owner: ["所有人", "Owner"],
  pools: ["专利池", "Patent pools"], pool: ["专利池", "Pool"], administrator: ["管理人", "Administrator"],
  fieldOfUse: ["领域", "Field"], formedOn: ["组建日", "Formed on"], lastDay: ["最后一日", "Last day"],
  entryDeal: ["入池交易", "Entry deal"], exitDeal: ["出池交易", "Exit deal"], poolLicences: ["专利池许可", "Pool licences"],
  poolPatents: ["池内专利数", "Patents in the pool"], ipc: ["IPC 分类号", "IPC symbols"], ipcSection: ["IPC 部", "IPC section"],
  qualifications: ["资质", "Qualifications"], qualification: ["资质", "Qualification"], certificate: ["证书编号", "Certificate"],
  arranged: ["经办的交易（中介）", "Deals arranged (as intermediary)"], sizeOn: ["当日规模", "Size on the date"],
  recovered: ["已回收", "Recovered"], shortfall: ["未受偿缺口", "Shortfall"],
  conversionList: ["按转化类别列出的专利", "Patents by conversion category"], holderKind: ["权利人类型", "Holder kind"],
  anyCategory: ["全部类别", "Every category"],
};

const RULES = {
  "INV-1": ["权属只因转让、出资或处置而变更", "Ownership changes only by transfer, contribution or disposal"],
  "INV-2": ["转让方须为全部现有权利人", "The transferors are all the current owners"],
  "INV-3": ["单个共有人只能许可普通许可", "A single co-owner grants only ordinary licences"],
  "INV-4": ["专利已失效、届满或被宣告无效", "The patent has lapsed, expired or been invalidated"],
  "INV-5": ["许可或债务期限不得超过专利期限", "Licences and debts end within the term"],
  "INV-6": ["独占/排他许可不得重叠", "No overlapping exclusive or sole licences"],
  "INV-7": ["开放许可期间不得独占或排他许可", "No exclusive or sole licence under an open licence"],
  "INV-8": ["分许可须有权利并在原许可范围内", "A sub-licence needs the right and stays in scope"],
  "INV-9": ["每项专利至多一项有效质押", "At most one active pledge per patent"],
  "INV-10": ["质押期间处分须经质权人同意", "While pledged, dealings need the pledgee's consent"],
  "INV-11": ["处置须有违约的有效质押", "A disposal needs a pledge in default"],
  "INV-12": ["质押因解除或处置而终止", "A pledge ends by release or disposal"],
  "INV-13": ["许可备案逾期（超过 3 个月）", "Licence filed more than 3 months late"],
  "INV-14": ["专利转让不影响在先许可", "Licences survive a transfer"],
  "INV-15": ["出资与债转股须有评估作价", "Contributions carry a valuation"],
  "INV-16": ["只可追加，不可修改或删除", "Append-only: no update or delete"],
  "INV-17": ["产品只可列明备案日其所有人持有或获许可的专利", "A product names only patents its owner holds or is licensed under on its filing date"],
  "INV-18": ["资助追回不得超过已发放金额且币种一致", "A subsidy recovery returns at most what was paid, in its currency"],
  "AR-1": ["回流交易", "Round trip"], "AR-2": ["快速倒手", "Rapid flip"],
  "AR-3": ["资助前集中受让", "Batch inflow before a subsidy"], "AR-4": ["同一实用新型或外观重复申报", "Reused utility model or design"],
  "AR-5": ["关联方或象征性价格", "Related-party or nominal price"], "AR-6": ["零价或象征性许可用于资助", "Zero or nominal licence for a subsidy"],
  "AR-7": ["临近届满的资产", "Dying asset"], "AR-8": ["高校至新设公司再质押", "University to new company to pledge"],
  "AR-9": ["反复质押", "Pledge churn"], "AR-10": ["来源主体在失信名单", "Tainted origin"],
  "AR-11": ["交易前后发明人变更", "Inventors changed around a sale"], "AR-12": ["一卖多买扇出", "Fan-out"],
  "AR-13": ["向名单内主体发放资助", "Subsidy to a listed party"],
  "K1": ["专利转让", "Transfers"], "K2": ["专利许可", "Licences"], "K3": ["作价出资", "Equity contributions"],
  "K4": ["中小微企业受让专利", "Patents received by SMEs"], "K5": ["高校院所转化", "Patents leaving universities and institutes"],
  "K6": ["专利质押融资", "Pledge financing"], "K7": ["同比增长与目标进度", "Growth and target progress"],
  "K8": ["处置回收", "Disposal recovery"], "K9": ["开放许可", "Open licences"], "K10": ["数据质量", "Data quality"],
  "K11": ["转化成果（按类别）", "Conversion outcomes by category"], "K12": ["专利产品备案、产值与就业", "Patent products, output value and employment"],
};

const TERMS = {
  // deal and event kinds
  transfer: ["转让", "transfer"], licence: ["许可", "licence"], equity_contribution: ["作价出资", "equity contribution"],
  pledge: ["质押", "pledge"], pledge_release: ["质押解除", "pledge release"], default: ["违约", "default"],
  disposal: ["处置", "disposal"], open_licence_declaration: ["开放许可声明", "open licence declaration"],
  open_licence_take_up: ["开放许可实施", "open licence take-up"], open_licence_withdrawal: ["开放许可撤回", "open licence withdrawal"],
  licence_termination: ["许可终止", "licence termination"], patent_registered: ["专利登记", "patent registered"],
  party_registered: ["主体登记", "party registered"], status_changed: ["法律状态变更", "status change"],
  inventors_changed: ["发明人变更", "inventors changed"], term_extended: ["期限补偿", "term extension"],
  subsidy: ["资助", "subsidy"], subsidy_recovery: ["资助追回", "subsidy recovery"], listing: ["列入名单", "listing"],
  listing_end: ["移出名单", "listing ended"], finding_confirmed: ["确认异常", "finding: confirmed"],
  finding_dismissed: ["驳回异常", "finding: dismissed"],
  // statuses
  open: ["待处理", "open"], confirmed: ["已确认", "confirmed"], dismissed: ["已驳回", "dismissed"],
  active: ["有效", "active"], defaulted: ["已违约", "defaulted"], released: ["已解除", "released"],
  disposed: ["已处置", "disposed"], collateral_lost: ["质物灭失", "collateral lost"],
  in_force: ["有效", "in force"], granted: ["已授权", "granted"], pending: ["申请中", "pending"], fee_grace: ["缴费宽限期", "fee grace"],
  lapsed: ["已失效", "lapsed"], restored: ["已恢复", "restored"], expired: ["已届满", "expired"],
  invalidated: ["已宣告无效", "invalidated"], preserved: ["已保全", "preserved"],
  // kinds of patents, parties, licences and fees
  invention: ["发明", "invention"], utility_model: ["实用新型", "utility model"], design: ["外观设计", "design"],
  enterprise: ["企业", "enterprise"], university: ["高校", "university"], research_institute: ["科研院所", "research institute"],
  bank: ["银行", "bank"], agency: ["服务机构", "agency"], individual: ["个人", "individual"],
  government: ["政府机关", "government"], foreign: ["境外主体", "foreign"],
  micro: ["微型", "micro"], small: ["小型", "small"], medium: ["中型", "medium"], large: ["大型", "large"],
  exclusive: ["独占许可", "exclusive"], sole: ["排他许可", "sole"], ordinary: ["普通许可", "ordinary"],
  unknown: ["未知", "unknown"], lump_sum: ["一次性付费", "lump sum"], royalty: ["提成", "royalty"],
  free: ["免费", "free"], undisclosed: ["未披露", "undisclosed"],
  dishonest: ["失信名单", "dishonest"], serious_dishonesty: ["严重失信名单", "serious dishonesty"],
  // indicator dimensions
  transfers: ["转让", "transfers"], application_right: ["申请权", "application right"], patent_right: ["专利权", "patent right"],
  contributions: ["出资", "contributions"], registered: ["登记", "registered"], under_10m: ["1000 万元以下", "under 10 m"],
  declared: ["声明", "declared"], taken: ["实施", "taken"], withdrawn: ["撤回", "withdrawn"],
  late_filings: ["逾期备案", "late filings"], short_open_licences: ["短期开放许可", "short open licences"],
  corrections: ["更正", "corrections"], subsidy_recoveries: ["资助追回", "subsidy recoveries"],
  flagged_left_out: ["排除的被标记交易", "flagged deals left out"],
  platform: ["交易平台", "platform"], auditor: ["审计", "auditor"], regulator: ["监管", "regulator"], admin: ["管理员", "admin"],
  // issue 18: event kinds, conversion categories (domain.md s10.1), qualifications (s10.4), K12 measures
  pool_entry: ["入池", "pool entry"], pool_exit: ["出池", "pool exit"], pool_formed: ["专利池组建", "pool formed"],
  classified: ["IPC 分类", "classified"], qualification: ["资质认定", "qualification"], size_changed: ["规模变更", "size changed"],
  industrialisation: ["产业化报告", "industrialisation report"], product_filed: ["产品备案", "product filed"],
  product_report: ["产品年度报告", "product report"], pool: ["专利池许可", "pool"],
  transferred: ["已转让", "transferred"], equity_contributed: ["已作价入股", "equity contributed"],
  open_licensed: ["已达成开放许可", "open licensed"], ordinary_licensed: ["已达成普通许可", "ordinary licensed"],
  sole_licensed: ["已达成排他许可", "sole licensed"], exclusive_licensed: ["已达成独占许可", "exclusive licensed"],
  industrialised_by_licensee: ["已由被许可人实现产业化", "industrialised by the licensee"],
  industrialised_by_partner: ["已由合作企业实现产业化", "industrialised by a partner"], pooled: ["已参与专利池运营", "pooled"],
  high_tech: ["高新技术企业", "high-tech enterprise"], specialised_sme: ["专精特新企业", "specialised SME"],
  ip_advantage: ["知识产权优势企业", "IP advantage enterprise"], ip_demonstration: ["知识产权示范企业", "IP demonstration enterprise"],
  sample_enterprise: ["专利产业化样板企业", "patent industrialisation model enterprise"],
  filed: ["备案", "filed"], output_value: ["产值", "output value"], employees: ["就业人数", "employees"],
  // issue 19: pledge finance, risk payments (K8 sources), disposal modes, intermediaries, lists
  pledge_change: ["质押变更", "pledge change"], risk_payment: ["风险补偿", "risk payment"],
  pre_compensation: ["前补偿", "pre-compensation"], bad_debt_deposit: ["坏账保证金", "bad-debt deposit"],
  guarantee_payment: ["担保代偿", "guarantee payment"], insurance_payment: ["保险赔付", "insurance payment"],
  agency_compensation: ["服务机构补偿", "agency compensation"], disposal_proceeds: ["处置所得", "disposal proceeds"],
  source: ["来源", "source"], debtor: ["借款人", "debtor"],
  agreed_price: ["协议作价", "agreed price"], auction: ["拍卖", "auction"], sale: ["变卖", "sale"],
  reverse_licence: ["反向许可", "reverse licence"], debt_to_equity: ["债转股", "debt to equity"],
  licence_to_third_party: ["许可第三方实施", "licence to a third party"],
  acquisition_with_licence_back: ["收购许可", "acquisition with licence back"],
  abnormal_operations: ["经营异常名录", "abnormal operations"], technology_manager: ["技术经理人", "technology manager"],
};

const PROBLEMS = {
  unauthorized: ["密钥无效、未知或已撤销", "No, unknown or revoked key"],
  forbidden: ["您的角色无权执行此操作", "Your role may not do this"],
  "not-found": ["未找到", "Not found"], "rule-violation": ["被规则拒绝", "Refused by a rule"],
  "validation-error": ["输入有误", "Invalid input"], "rate-limited": ["请求过于频繁", "Too many requests"],
  network: ["无法连接账本服务", "The ledger cannot be reached"], graphql: ["查询出错", "The query failed"],
  "rule-refusal": ["被规则拒绝", "Refused by a rule"],
  "idempotency-conflict": ["该标识已用于另一内容不同的提交", "This id was already posted with other content"],
  "invalid-reference": ["引用了未知的对象", "Unknown reference"], "batch-not-applied": ["批次未执行", "Not applied"],
  "internal-error": ["账本内部错误，未保存任何内容", "Internal error; nothing was stored"],
  "console-not-installed": ["控制台资源未安装", "Console assets not installed"],
};

let current = sessionStorage.getItem("console.lang") === "en" ? 1 : 0;

export function lang() { return current === 0 ? "zh-CN" : "en"; }

export function setLang(code) {
  current = code === "en" ? 1 : 0;
  sessionStorage.setItem("console.lang", code === "en" ? "en" : "zh");
  document.documentElement.lang = lang();
}

export function t(key) { return (LABELS[key] || [key, key])[current]; }

/** A term (deal kind, status, kind) in the user's language, else itself. */
export function term(value) {
  if (value === null || value === undefined || value === "") return "—";
  const found = TERMS[value];
  return found ? found[current] : String(value);
}

/** A rule or indicator: its code always, then its name in the user's language. */
export function rule(code) {
  const found = RULES[code];
  return found ? `${code} ${found[current]}` : String(code);
}

export function ruleCodes() { return Object.keys(RULES); }

/** A rule's name alone in the user's language (null for a code the console does not know). */
export function ruleName(code) { return RULES[code] ? RULES[code][current] : null; }

/** A label with {placeholders} filled in. */
export function fill(key, values) { return t(key).replace(/\{(\w+)\}/g, (_m, k) => String(values[k])); }

/** An indicator dimension: compound ones (`source:insurance_payment`, `transferred:university`,
 * `debtor:enterprise/small`) read part by part. */
export function dimension(value) {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value);
  if (TERMS[text]) return term(text);
  const [head, tail] = text.split(/:(.*)/s);
  if (tail === undefined) return text;
  return `${term(head)}: ${tail.split("/").map(term).join(" / ")}`;
}

export function problemTitle(kind, fallback) {
  const found = PROBLEMS[kind];
  return found ? found[current] : fallback;
}

/** ISO date (YYYY-MM-DD) or ISO moment (YYYY-MM-DD HH:MM:SSZ): the same in both languages. */
export function isoDate(value) { return value ? String(value).slice(0, 10) : "—"; }

export function isoMoment(value) {
  if (!value) return "—";
  return new Date(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** An amount in its currency, in the user's language (CNY as ¥ / CN¥). */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  try {
    return new Intl.NumberFormat(lang(), { style: "currency", currency: currency || "CNY" })
      .format(Number(amount));
  } catch (_error) {
    return `${amount} ${currency || ""}`.trim();
  }
}

export function number(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? new Intl.NumberFormat(lang(), { maximumFractionDigits: 4 }).format(n) : String(value);
}
