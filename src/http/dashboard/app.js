/*
 * Headframe dashboard: polls the read-only JSON API and draws it.
 *
 * Plain browser JavaScript, no build step, served from this origin under a
 * strict CSP (no inline code). Text from the API (worker names, firmware
 * user agents, source errors) only ever goes into textContent, never into
 * HTML. `?refresh=<seconds>` sets the poll period (default 5).
 */
/* global uPlot */
;(function () {
  'use strict'

  const params = new URLSearchParams(location.search)
  const REFRESH_S = clamp(Number(params.get('refresh') || 5), 1, 300)
  /** The ledger series is read again this often; between reads the chart grows from /api/pool. */
  const HISTORY_REFRESH_MS = 60_000
  /** Client-side samples of the 5-minute average kept for the chart. */
  const MAX_SAMPLES = 20_000
  /** The reports of `headframe report` (docs/http.md), offered for the last 30 days. */
  const REPORTS = [
    { name: 'payouts', title: 'Payouts and credits' },
    { name: 'workers', title: 'Workers' },
    { name: 'blocks', title: 'Blocks' },
    { name: 'shares', title: 'Shares' },
  ]
  const REPORT_DAYS = 30

  /** Everything the page shows; `window.headframeDashboard` exposes it to tests and the console. */
  const state = {
    polls: 0,
    pool: null,
    workers: [],
    sources: null,
    blocks: [],
    history: null,
    historyAt: 0,
    window: '1h',
    samples: [],
    sort: { key: 'hr5m', dir: -1 },
    chart: null,
    errors: 0,
    lastError: null,
  }
  window.headframeDashboard = state

  function clamp(n, lo, hi) {
    return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo
  }

  function $(id) {
    return document.getElementById(id)
  }

  const UNITS = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s', 'ZH/s']
  /** Hashes per second with an SI prefix and 3 significant digits: "42.9 kH/s". */
  function formatHashrate(hps) {
    if (!Number.isFinite(hps) || hps <= 0) return '0 H/s'
    let i = 0
    while (hps >= 1000 && i < UNITS.length - 1) {
      hps /= 1000
      i++
    }
    return `${hps.toPrecision(3)} ${UNITS[i]}`
  }
  window.headframeFormatHashrate = formatHashrate

  function formatNumber(n, digits = 3) {
    if (n === null || n === undefined || !Number.isFinite(n)) return '–'
    if (n !== 0 && (Math.abs(n) >= 1e6 || Math.abs(n) < 1e-3)) return n.toExponential(2)
    return Number(n.toPrecision(digits)).toLocaleString('en-US')
  }

  /** A duration in seconds as the largest sensible unit: "42 s", "17 min", "5.2 h", "3.1 d", "12.4 y"; null: "–". */
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–'
    // Each unit is chosen after rounding in it, so 59.6 s is "1 min", not "60 s".
    if (Math.round(seconds) < 60) return `${Math.round(seconds)} s`
    if (Math.round(seconds / 60) < 60) return `${Math.round(seconds / 60)} min`
    if (Number((seconds / 3600).toFixed(1)) < 24) return `${(seconds / 3600).toFixed(1)} h`
    const YEAR = 365.25 * 86400
    if (Number((seconds / 86400).toFixed(1)) < 365.25 && seconds < YEAR) return `${(seconds / 86400).toFixed(1)} d`
    return `${formatNumber(seconds / YEAR)} y`
  }
  window.headframeFormatDuration = formatDuration

  function ago(ms) {
    if (ms === null || ms === undefined) return 'never'
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
    if (s < 60) return `${s} s ago`
    if (s < 3600) return `${Math.floor(s / 60)} min ago`
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`
    return `${Math.floor(s / 86400)} d ago`
  }

  function setText(id, text, value) {
    const el = $(id)
    el.textContent = text
    if (value !== undefined) el.dataset.value = String(value)
  }

  function cell(tr, text, options = {}) {
    const td = document.createElement('td')
    td.textContent = text
    if (options.value !== undefined) td.dataset.value = String(options.value)
    if (options.className) td.className = options.className
    if (options.title) td.title = options.title
    if (options.key) td.dataset.key = options.key
    tr.appendChild(td)
    return td
  }

  function emptyRow(tbody, columns, text) {
    const tr = document.createElement('tr')
    const td = cell(tr, text, { className: 'empty' })
    td.colSpan = columns
    tbody.appendChild(tr)
  }

  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' })
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
    return res.json()
  }

  // ---- summary ----------------------------------------------------------

  async function readyState() {
    try {
      const res = await fetch('/readyz', { cache: 'no-store' })
      return { ready: res.ok, body: await res.json() }
    } catch {
      return { ready: false, body: { reasons: ['the pool does not answer'] } }
    }
  }

  function renderPool(pool, ready) {
    const status = $('status')
    status.textContent = ready.ready ? 'ready' : 'not ready'
    status.className = `pill ${ready.ready ? 'ok' : 'bad'}`
    status.title = ready.ready ? '' : (ready.body.reasons || []).join('; ')
    const net = pool.network
    setText('network', net ? `height ${net.height ?? '?'} · network difficulty ${formatNumber(net.difficulty)}` : 'no work yet')
    for (const w of ['5m', '1h', '24h']) setText(`hr-${w}`, formatHashrate(pool.hashrate[w]), pool.hashrate[w])
    setText('miners', `${pool.miners} / ${pool.workers}`)
    setText('spm', formatNumber(pool.sharesPerMinute), pool.sharesPerMinute)
    setText('shares', `${pool.shares.accepted} / ${pool.shares.rejected} (${formatNumber(pool.shares.rejectPercent, 2)} %)`)
    setText('blocks24h', String(pool.blocks.last24h))
    // Solo: the expected wait for a block at the last hour's hashrate (a mean, not a promise: blocks come as a Poisson process).
    setText('eta', formatDuration(pool.nextBlockEtaSeconds), pool.nextBlockEtaSeconds ?? '')
    setText('source', `${pool.activeSource ?? 'none'} · ${pool.hasher.backend} ${pool.hasher.implementation}`)
    setText('updated', `updated ${new Date(pool.time).toLocaleTimeString()} · up ${Math.floor(pool.uptimeSeconds / 60)} min`)
  }

  // ---- chart ------------------------------------------------------------

  function chartData() {
    const buckets = state.history ? state.history.points : []
    const times = new Set()
    for (const p of buckets) times.add(p.time / 1000)
    const from = buckets.length > 0 ? buckets[0].time / 1000 : -Infinity
    const samples = state.samples.filter((s) => s.t >= from)
    for (const s of samples) times.add(s.t)
    const xs = [...times].sort((a, b) => a - b)
    const perBucket = new Map(buckets.map((p) => [p.time / 1000, p.hashrate]))
    const avg = new Map(samples.map((s) => [s.t, s.v]))
    return [xs, xs.map((x) => (perBucket.has(x) ? perBucket.get(x) : null)), xs.map((x) => (avg.has(x) ? avg.get(x) : null))]
  }

  function chartSize() {
    const el = $('chart')
    return { width: Math.max(300, el.clientWidth - 16), height: 300 }
  }

  function drawChart() {
    const data = chartData()
    if (state.chart) {
      state.chart.setData(data)
      return
    }
    if (typeof uPlot === 'undefined') return
    const bucket = state.history ? state.history.bucketSeconds : 60
    const axis = { stroke: '#8b98a5', grid: { stroke: '#2a3440', width: 1 }, ticks: { stroke: '#2a3440' } }
    state.chart = new uPlot(
      {
        ...chartSize(),
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [axis, { ...axis, size: 80, values: (_u, ticks) => ticks.map(formatHashrate) }],
        series: [
          {},
          { label: bucket === 60 ? 'per minute' : 'per hour', stroke: '#f0a030', fill: 'rgba(240,160,48,0.12)', width: 1.5, value: (_u, v) => (v === null ? '–' : formatHashrate(v)) },
          { label: '5-min average', stroke: '#58a6ff', width: 2, spanGaps: true, value: (_u, v) => (v === null ? '–' : formatHashrate(v)) },
        ],
      },
      data,
      $('chart'),
    )
  }

  async function loadHistory(force) {
    if (!force && state.history && Date.now() - state.historyAt < HISTORY_REFRESH_MS) return
    state.history = await getJson(`/api/pool/history?window=${encodeURIComponent(state.window)}`)
    state.historyAt = Date.now()
    if (state.chart && force) {
      // A new bucket size: a new series label, so a new chart.
      state.chart.destroy()
      state.chart = null
    }
  }

  // ---- workers ----------------------------------------------------------

  function workerValue(w, key) {
    switch (key) {
      case 'hr5m': return w.hashrate['5m']
      case 'hr1h': return w.hashrate['1h']
      case 'hr24h': return w.hashrate['24h']
      case 'online': return w.online ? 1 : 0
      case 'difficulty': return w.difficulty ?? -1
      case 'lastShareAt': return w.lastShareAt ?? 0
      case 'userAgent': return w.userAgent ?? ''
      default: return w[key]
    }
  }

  function renderWorkers() {
    const { key, dir } = state.sort
    const text = key === 'name' || key === 'userAgent'
    const rows = [...state.workers].sort((a, b) => {
      const x = workerValue(a, key)
      const y = workerValue(b, key)
      const c = text ? String(x).localeCompare(String(y)) : x - y
      return c !== 0 ? c * dir : a.name.localeCompare(b.name)
    })
    const tbody = $('workers').tBodies[0]
    tbody.replaceChildren()
    for (const w of rows) {
      const tr = document.createElement('tr')
      tr.dataset.worker = w.name
      cell(tr, w.name, { key: 'name' })
      cell(tr, w.online ? `online (${w.sessions})` : 'offline', { key: 'online', className: w.online ? 'online' : 'offline', value: w.online ? 1 : 0 })
      for (const win of ['5m', '1h', '24h']) cell(tr, formatHashrate(w.hashrate[win]), { key: `hr${win}`, className: 'num', value: w.hashrate[win] })
      cell(tr, w.difficulty === null ? '–' : formatNumber(w.difficulty), { key: 'difficulty', className: 'num', value: w.difficulty ?? '' })
      cell(tr, ago(w.lastShareAt), { key: 'lastShareAt', className: 'num', value: w.lastShareAt ?? '', title: w.lastShareAt ? new Date(w.lastShareAt).toISOString() : '' })
      cell(tr, String(w.accepted), { key: 'accepted', className: 'num', value: w.accepted })
      const reasons = Object.entries(w.rejectedByReason || {}).map(([r, n]) => `${r}: ${n}`).join(', ')
      cell(tr, formatNumber(w.rejectPercent, 2), { key: 'rejectPercent', className: `num${w.rejectPercent >= 5 ? ' warn' : ''}`, value: w.rejectPercent, title: reasons })
      cell(tr, w.userAgent ?? '', { key: 'userAgent' })
      tbody.appendChild(tr)
    }
    if (rows.length === 0) emptyRow(tbody, 10, 'no workers yet: point miners at stratum+tcp://<this host>:3333 with worker name account.worker')
    const online = state.workers.filter((w) => w.online).length
    setText('workers-count', `${online} online, ${state.workers.length} seen in 24 h`)
    for (const th of $('workers').tHead.rows[0].cells) {
      th.setAttribute('aria-sort', th.dataset.sort === key ? (dir > 0 ? 'ascending' : 'descending') : 'none')
    }
  }

  function onSortClick(event) {
    const th = event.target.closest('th[data-sort]')
    if (!th) return
    const key = th.dataset.sort
    // Numbers start high-to-low (the biggest miner first), names A to Z.
    if (state.sort.key === key) state.sort.dir = -state.sort.dir
    else state.sort = { key, dir: th.dataset.type === 'text' ? 1 : -1 }
    renderWorkers()
  }

  // ---- sources, blocks, reports -----------------------------------------

  function renderSources(body) {
    const tbody = $('sources').tBodies[0]
    tbody.replaceChildren()
    for (const s of body.sources) {
      const tr = document.createElement('tr')
      tr.dataset.source = s.name
      const label = s.priority !== undefined ? `${s.priority + 1}. ${s.name}` : s.name
      cell(tr, s.active ? `${label} (active)` : label, { key: 'name' })
      const health = s.healthy === null || s.healthy === undefined ? 'unknown' : s.healthy ? 'healthy' : 'unhealthy'
      const state = s.state ?? health
      cell(tr, state, { key: 'state', className: state === 'unhealthy' ? 'unhealthy' : state === 'healthy' ? 'online' : state === 'unknown' ? '' : 'warn' })
      cell(tr, s.height === null || s.height === undefined ? '–' : String(s.height), { className: 'num' })
      const lastWork = s.lastWorkAt ?? s.lastTemplateAt
      cell(tr, lastWork ? ago(lastWork) : '–')
      cell(tr, s.lastError ?? '', { title: s.lastError ?? '' })
      tbody.appendChild(tr)
    }
    if (body.sources.length === 0) emptyRow(tbody, 5, 'no source configured')
    // Failover state, when the pool runs a failover over several sources.
    const parts = []
    if (body.allUnhealthy) parts.push('NO USABLE SOURCE: miners keep the last work')
    if (body.forced) parts.push(`forced to ${body.forced}`)
    if (typeof body.switches === 'number') parts.push(`${body.switches} switch${body.switches === 1 ? '' : 'es'} since start`)
    const last = body.lastSwitch
    if (last && typeof last === 'object') parts.push(`last: ${last.from ?? 'none'} → ${last.to} (${last.reason}${last.detail ? `: ${last.detail}` : ''}) ${ago(last.at)}`)
    setText('failover', parts.length > 0 ? `Failover: ${parts.join(' · ')}` : '')
    $('failover').className = body.allUnhealthy ? 'unhealthy' : 'muted'
  }

  function renderBlocks(blocks) {
    const tbody = $('blocks').tBodies[0]
    tbody.replaceChildren()
    for (const b of blocks.slice(0, 20)) {
      const tr = document.createElement('tr')
      cell(tr, String(b.height), { className: 'num' })
      cell(tr, `${b.hash.slice(0, 12)}…${b.hash.slice(-6)}`, { className: 'hash', title: b.hash })
      cell(tr, ago(b.time), { title: new Date(b.time).toISOString() })
      cell(tr, `${b.account}.${b.worker}`)
      cell(tr, b.confirmations !== undefined && b.status === 'accepted' ? `${b.status} (${b.confirmations} conf.)` : b.status, { className: b.status })
      let reward = '–'
      try {
        const sats = BigInt(b.reward)
        reward = `${sats / 100000000n}.${(sats % 100000000n).toString().padStart(8, '0')}`
      } catch {
        // a reward that is not a satoshi string stays "–"
      }
      cell(tr, reward, { className: 'num' })
      tbody.appendChild(tr)
    }
    if (blocks.length === 0) emptyRow(tbody, 6, 'no block found yet')
  }

  /** `YYYY-MM-DD` of a UTC day. */
  function day(ms) {
    return new Date(ms).toISOString().slice(0, 10)
  }

  function renderReports() {
    // The last REPORT_DAYS whole UTC days and today: [from, tomorrow).
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
    const from = day(today - REPORT_DAYS * 86400000)
    const to = day(today + 86400000)
    const ul = $('reports')
    ul.replaceChildren()
    for (const r of REPORTS) {
      const li = document.createElement('li')
      li.appendChild(document.createTextNode(`${r.title}, ${from} to ${to}: `))
      for (const ext of ['csv', 'json']) {
        const a = document.createElement('a')
        a.href = `/api/reports/${r.name}.${ext}?from=${from}&to=${to}`
        a.textContent = ext.toUpperCase()
        if (ext === 'csv') a.setAttribute('download', '')
        li.appendChild(a)
        li.appendChild(document.createTextNode(' '))
      }
      ul.appendChild(li)
    }
  }

  // ---- polling ----------------------------------------------------------

  async function refresh() {
    try {
      const [pool, workers, sources, blocks, ready] = await Promise.all([
        getJson('/api/pool'),
        getJson('/api/workers'),
        getJson('/api/sources'),
        getJson('/api/blocks'),
        readyState(),
        loadHistory(false),
      ])
      state.pool = pool
      state.workers = workers.workers
      state.sources = sources
      state.blocks = blocks.blocks
      state.samples.push({ t: pool.time / 1000, v: pool.hashrate['5m'] })
      if (state.samples.length > MAX_SAMPLES) state.samples.splice(0, state.samples.length - MAX_SAMPLES)
      renderPool(pool, ready)
      renderWorkers()
      renderSources(sources)
      renderBlocks(state.blocks)
      drawChart()
      state.polls++
      document.body.dataset.polls = String(state.polls)
    } catch (err) {
      state.errors++
      state.lastError = String(err)
      const status = $('status')
      status.textContent = 'unreachable'
      status.className = 'pill bad'
      status.title = String(err)
    } finally {
      setTimeout(refresh, REFRESH_S * 1000)
    }
  }

  function onWindowClick(event) {
    const button = event.target.closest('button[data-window]')
    if (!button || button.dataset.window === state.window) return
    state.window = button.dataset.window
    for (const b of $('windows').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button))
    loadHistory(true).then(drawChart, (err) => {
      state.lastError = String(err)
    })
  }

  $('workers').tHead.addEventListener('click', onSortClick)
  $('windows').addEventListener('click', onWindowClick)
  window.addEventListener('resize', () => state.chart && state.chart.setSize(chartSize()))
  renderReports()
  void refresh()
})()
