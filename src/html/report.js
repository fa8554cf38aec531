(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var PAGE = 100;
  /* Fields of a connection record (src/report_html_int.h). */
  var ID = 0, CIP = 1, CPORT = 2, SIP = 3, SPORT = 4, ROLES = 5, VLAN = 6, T0 = 7, T1 = 8,
    PC = 9, PS = 10, BC = 11, BS = 12, END = 13, CST = 14, SST = 15, ZST = 16, ZH = 17,
    WORST = 18, DROPPED = 19, AN = 20, TL = 21;
  /* Fields of a timeline entry, of a summary entry and of an anomaly. */
  var E_KIND = 0, E_DT = 1, E_PKT = 2, E_DIR = 3, E_FLAGS = 4, E_SEQ = 5, E_ACK = 6,
    E_LEN = 7, E_WIN = 8, E_CST = 9, E_SST = 10, E_VIA = 11;
  var S_LAST_DT = 3, S_LAST_PKT = 4, S_PC = 5, S_PS = 6, S_BC = 7, S_BS = 8, S_CST = 9,
    S_SST = 10;
  var A_TYPE = 0, A_SEV = 1, A_EP = 2, A_DT = 3, A_PKTS = 4, A_EV = 5, A_X = 6, A_G = 7;

  function $(id) { return document.getElementById(id); }
  var meta = JSON.parse($('tl-meta').textContent);
  var conns = JSON.parse($('tl-data').textContent);
  var SUMMARY = meta.events.length - 1;

  /* Elements are built with text nodes and attributes only: nothing from
   * the data is ever parsed as markup. */
  function mk(ns, tag, attrs, kids) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs || {})
      if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    [].concat(kids === undefined ? [] : kids).forEach(function (c) {
      if (c !== null && c !== undefined) e.append(c);
    });
    return e;
  }
  function h(tag, attrs, kids) { return mk(null, tag, attrs, kids); }
  function sv(tag, attrs, kids) { return mk(SVGNS, tag, attrs, kids); }

  function ep(ip, port) { return (ip.indexOf(':') >= 0 ? '[' + ip + ']' : ip) + ':' + port; }
  function pad6(n) { return String(n).padStart(6, '0'); }
  /* µs as seconds with six decimals, exactly. */
  function secs(us) {
    var a = Math.abs(us);
    return (us < 0 ? '-' : '') + Math.floor(a / 1e6) + '.' + pad6(a % 1e6);
  }
  function utc(us) {
    var d = new Date(Math.floor(us / 1e6) * 1000).toISOString();
    return d.slice(0, 10) + ' ' + d.slice(11, 19) + '.' + pad6(((us % 1e6) + 1e6) % 1e6);
  }
  function state(i) { return i >= 0 && i < meta.states.length ? meta.states[i] : '?'; }
  function sev(i) { return meta.severities[i] || 'info'; }
  function endName(c) { return meta.ends[c[END]] || '?'; }

  /* Wireshark display filter for the connection, as the JSON report has it. */
  function wsFilter(c) {
    var v6 = c[CIP].indexOf(':') >= 0, ip = v6 ? 'ipv6' : 'ip';
    function dir(a, ap, b, bp) {
      return '(' + ip + '.src==' + a + ' && tcp.srcport==' + ap + ' && ' + ip + '.dst==' + b +
        ' && tcp.dstport==' + bp + ')';
    }
    return '(' + dir(c[CIP], c[CPORT], c[SIP], c[SPORT]) + ' || ' +
      dir(c[SIP], c[SPORT], c[CIP], c[CPORT]) + ')' +
      (c[VLAN] ? ' && vlan.id==' + (c[VLAN] & 0xfff) : '') +
      ' && frame.time_epoch >= ' + secs(c[T0] - 1) + ' && frame.time_epoch <= ' + secs(c[T1] + 1);
  }

  /* ---- the list ---- */
  /* An endpoint's sort key: IPv4 before IPv6, numerically by octet, then
   * by port (plain string order, fast on 100k rows). */
  function epKey(ip, port) {
    var k = ip.indexOf(':') >= 0 ? '6' + ip.split(':').map(function (g) {
      return g.padStart(4, '0');
    }).join(':') : '4' + ip.split('.').map(function (o) { return o.padStart(3, '0'); }).join('.');
    return k + '/' + String(port).padStart(5, '0');
  }
  var cols = [
    { t: '#', num: 1, v: function (c) { return c[ID]; } },
    { t: 'client', v: function (c) { return epKey(c[CIP], c[CPORT]); } },
    { t: 'server', v: function (c) { return epKey(c[SIP], c[SPORT]); } },
    { t: 'start (UTC)', v: function (c) { return c[T0]; }, num: 1 },
    { t: 'duration s', num: 1, v: function (c) { return c[T1] - c[T0]; } },
    { t: 'packets c/s', num: 1, v: function (c) { return c[PC] + c[PS]; } },
    { t: 'bytes c/s', num: 1, v: function (c) { return c[BC] + c[BS]; } },
    { t: 'end', v: endName },
    { t: 'states at end c/s', v: function (c) { return state(c[CST]) + '/' + state(c[SST]); } },
    { t: 'zeek', v: function (c) { return c[ZST] + ' ' + c[ZH]; } },
    { t: 'anomalies', num: 1, v: function (c) { return (c[WORST] + 1) * 1000 + c[AN].length; } }
  ];
  var hay = conns.map(function (c) {
    var an = c[AN].map(function (a) {
      return meta.anomalies[a[A_TYPE]] + ' ' + sev(a[A_SEV]);
    }).join(' ');
    return ('#' + c[ID] + ' ' + ep(c[CIP], c[CPORT]) + ' ' + ep(c[SIP], c[SPORT]) + ' ' +
      endName(c) + ' ' + state(c[CST]) + ' ' + state(c[SST]) + ' ' + c[ZST] + ' ' + c[ZH] +
      ' ' + meta.roles_from[c[ROLES]] + (c[VLAN] ? ' vlan' + c[VLAN] : '') + ' ' + an)
      .toLowerCase();
  });
  var view = [], page = 0, sortCol = -1, sortDir = 1, expanded = new Set();
  var tbody = document.querySelector('#conns tbody'), filter = $('filter'), onlyBad = $('only-bad');

  function apply() {
    var terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    view = [];
    for (var i = 0; i < conns.length; i++) {
      if (onlyBad.checked && conns[i][WORST] < 1) continue;
      var ok = true;
      for (var k = 0; ok && k < terms.length; k++) ok = hay[i].indexOf(terms[k]) >= 0;
      if (ok) view.push(i);
    }
    if (sortCol >= 0) {
      var col = cols[sortCol];
      var keys = view.map(function (i) { return col.v(conns[i]); });
      var idx = view.map(function (_, j) { return j; });
      idx.sort(function (a, b) {
        var x = keys[a], y = keys[b];
        var d = col.num ? x - y : x < y ? -1 : x > y ? 1 : 0;
        return d !== 0 ? d * sortDir : conns[view[a]][ID] - conns[view[b]][ID];
      });
      view = idx.map(function (j) { return view[j]; });
    }
    page = Math.min(page, Math.max(0, Math.ceil(view.length / PAGE) - 1));
    render();
  }

  function stateSpan(i) { return h('span', { 'class': 'st st-' + state(i) }, state(i)); }

  function row(c) {
    var open = expanded.has(c[ID]);
    var an = h('td', { 'class': 'an' }, c[AN].length ? null : '–');
    c[AN].forEach(function (a) {
      an.append(h('span', { 'class': 'badge sev-' + sev(a[A_SEV]) }, meta.anomalies[a[A_TYPE]]), ' ');
    });
    return h('tr', { 'class': 'row' + (open ? ' open' : ''), 'data-id': c[ID], id: 'c' + c[ID],
      tabindex: 0, 'aria-expanded': open ? 'true' : 'false' }, [
      h('td', { 'class': 'num' }, String(c[ID])),
      h('td', null, ep(c[CIP], c[CPORT])),
      h('td', null, ep(c[SIP], c[SPORT])),
      h('td', { 'class': 'time' }, utc(c[T0])),
      h('td', { 'class': 'num' }, secs(c[T1] - c[T0])),
      h('td', { 'class': 'num' }, c[PC] + '/' + c[PS]),
      h('td', { 'class': 'num' }, c[BC] + '/' + c[BS]),
      h('td', null, h('span', { 'class': 'end end-' + endName(c) }, endName(c))),
      h('td', null, [stateSpan(c[CST]), ' / ', stateSpan(c[SST])]),
      h('td', null, c[ZST] ? c[ZST] + ' ' + c[ZH] : '–'),
      an
    ]);
  }

  function render() {
    var rows = [], from = page * PAGE, to = Math.min(view.length, from + PAGE);
    for (var j = from; j < to; j++) {
      var c = conns[view[j]];
      rows.push(row(c));
      if (expanded.has(c[ID]))
        rows.push(h('tr', { 'class': 'detail', 'data-id': c[ID] },
          h('td', { colspan: cols.length }, details(c))));
    }
    tbody.replaceChildren.apply(tbody, rows);
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    $('count').textContent = view.length + ' of ' + conns.length + ' connections' +
      (meta.anomalies_only ? ' (listed: with a warning or an error; ' + meta.connections +
        ' in all)' : '');
    $('page').textContent = view.length ? 'rows ' + (from + 1) + '–' + to + ', page ' +
      (page + 1) + ' of ' + pages : 'no connection matches';
    $('prev').disabled = page === 0;
    $('next').disabled = page + 1 >= pages;
  }

  function header() {
    var tr = document.querySelector('#conns thead tr');
    cols.forEach(function (col, i) {
      var b = h('button', { type: 'button' }, col.t);
      b.addEventListener('click', function () {
        sortDir = sortCol === i ? -sortDir : 1;
        sortCol = i;
        tr.querySelectorAll('th').forEach(function (th, k) {
          th.setAttribute('aria-sort', k !== i ? 'none' : sortDir > 0 ? 'ascending' : 'descending');
        });
        apply();
      });
      tr.append(h('th', { 'aria-sort': 'none', 'class': col.num ? 'num' : null }, b));
    });
  }

  function toggle(id) {
    if (expanded.has(id)) expanded.delete(id); else expanded.add(id);
    render();
  }

  /* Shows connection id: clears a filter that hides it, turns to its page,
   * opens its ladder. */
  function reveal(id) {
    var i = conns.findIndex(function (c) { return c[ID] === id; });
    if (i < 0) return;
    if (view.indexOf(i) < 0) {
      filter.value = '';
      onlyBad.checked = false;
      apply();
    }
    page = Math.floor(view.indexOf(i) / PAGE);
    expanded.add(id);
    render();
    var tr = $('c' + id);
    if (tr) tr.scrollIntoView({ block: 'start' });
  }

  /* ---- one connection ---- */
  function evidence(ev) {
    var keys = Object.keys(ev);
    if (!keys.length) return null;
    var p = h('p', { 'class': 'ev' }, h('b', null, 'Evidence '));
    keys.forEach(function (k, i) {
      var v = ev[k];
      if (Array.isArray(v)) v = '[' + v.map(num).join(' ') + ']';
      else if (typeof v === 'number') v = num(v);
      p.append(i ? ', ' : '', h('span', null, k), ' ' + String(v));
    });
    return p;
  }
  function num(v) { return Number.isInteger(v) ? String(v) : String(+v.toFixed(6)); }

  function anomalyList(c) {
    var ol = h('ol', { 'class': 'anomalies' });
    c[AN].forEach(function (a, i) {
      var s = sev(a[A_SEV]);
      ol.append(h('li', { 'class': 'anomaly sev-' + s, id: 'c' + c[ID] + 'a' + (i + 1) }, [
        h('p', { 'class': 'ahead' }, [
          h('span', { 'class': 'mark sev-' + s }, String(i + 1)), ' ',
          h('span', { 'class': 'badge sev-' + s }, s), ' ',
          h('b', null, meta.anomalies[a[A_TYPE]]), ' ' + meta.endpoints[a[A_EP]] + ', +' +
          secs(a[A_DT]) + ' s' + (a[A_PKTS].length ? ', packets ' + a[A_PKTS].join(' ') : '')]),
        a[A_X] ? h('p', { 'class': 'x' }, [h('b', null, 'What happened '), a[A_X]]) : null,
        a[A_G] ? h('p', { 'class': 'g' }, [h('b', null, 'What to do '), a[A_G]]) : null,
        evidence(a[A_EV])
      ]));
    });
    return ol;
  }

  function details(c) {
    var facts = h('div', { 'class': 'facts' }, [
      h('p', null, 'Connection ' + c[ID] + ': ' + ep(c[CIP], c[CPORT]) + ' → ' +
        ep(c[SIP], c[SPORT]) + ', roles from ' + meta.roles_from[c[ROLES]] +
        (c[VLAN] ? ', VLAN ' + c[VLAN] : '') + ', ' + utc(c[T0]) + ' to ' + utc(c[T1]) +
        ' UTC, ended ' + endName(c) + '.'),
      h('p', null, [h('b', null, 'Wireshark filter '), h('code', null, wsFilter(c))])]);
    if (c[DROPPED])
      facts.append(h('p', { 'class': 'warn' },
        'The timeline was cut: ' + c[DROPPED] + ' entries not kept (--timeline-max).'));
    return h('div', { 'class': 'details' },
      [facts, h('div', { 'class': 'ladder-wrap' }, ladder(c)), c[AN].length ? anomalyList(c) : null]);
  }

  /* Ladder geometry. */
  var W = 820, XC = 300, XS = 640, TOP = 58, ROW = 54, MARKX = 104;

  function via(list, final) {
    return list && list.length ? list.map(state).concat(state(final)).join('→') : state(final);
  }

  function arrowClass(e) {
    var kind = meta.events[e[E_KIND]] || '', f = e[E_FLAGS];
    var cls = f.indexOf('R') >= 0 ? 'rst' : f.indexOf('S') >= 0 ? 'syn' :
      f.indexOf('F') >= 0 ? 'fin' : e[E_LEN] > 0 ? 'data' : 'ack';
    if (/retransmi|dropped|unexpected|ignored|gap|zero/.test(kind)) cls += ' odd';
    return cls;
  }

  function packetArrow(e, y) {
    var c2s = e[E_DIR] === 0, x1 = c2s ? XC : XS, x2 = c2s ? XS : XC, d = c2s ? -1 : 1;
    var y1 = y - 7, y2 = y + 7, mid = (XC + XS) / 2;
    var kind = meta.events[e[E_KIND]];
    var detail = 'seq ' + e[E_SEQ] + ' ack ' + e[E_ACK] + ' len ' + e[E_LEN] + ' win ' + e[E_WIN];
    return sv('g', { 'class': 'arrow ' + arrowClass(e), 'data-dir': c2s ? 'c2s' : 's2c',
      'data-pkt': e[E_PKT] }, [
      sv('title', null, 'packet ' + e[E_PKT] + ' ' + (c2s ? 'client → server' : 'server → client') +
        ': ' + kind + ' [' + e[E_FLAGS] + '] ' + detail),
      sv('line', { x1: x1, y1: y1, x2: x2 + 9 * d, y2: y2 - 1 }),
      sv('polygon', { points: x2 + ',' + y2 + ' ' + (x2 + 12 * d) + ',' + (y2 - 7) + ' ' +
        (x2 + 10 * d) + ',' + (y2 + 3) }),
      sv('text', { x: mid, y: y - 12, 'class': 'lbl' }, kind + ' [' + e[E_FLAGS] + ']'),
      sv('text', { x: mid, y: y + 20, 'class': 'sub' }, detail)
    ]);
  }

  function foldBand(e, y) {
    return sv('g', { 'class': 'fold' }, [
      sv('rect', { x: XC + 6, y: y - ROW / 2 + 6, width: XS - XC - 12, height: ROW - 12, rx: 4 }),
      sv('text', { x: (XC + XS) / 2, y: y - 3, 'class': 'lbl' },
        e[S_PC] + '+' + e[S_PS] + ' segments, ' + e[S_BC] + '+' + e[S_BS] + ' bytes (c+s)'),
      sv('text', { x: (XC + XS) / 2, y: y + 11, 'class': 'sub' },
        'packets ' + e[E_PKT] + '–' + e[S_LAST_PKT] + ', until +' + secs(e[S_LAST_DT]) + ' s')
    ]);
  }

  function eventLine(e, y) {
    return sv('g', { 'class': 'note' }, [
      sv('line', { x1: XC, y1: y, x2: XS, y2: y }),
      sv('text', { x: (XC + XS) / 2, y: y - 5, 'class': 'lbl' }, meta.events[e[E_KIND]])
    ]);
  }

  /* Which anomalies each timeline entry proves (by packet number). */
  function marksOf(c, e) {
    var lo = e[E_PKT], hi = e[E_KIND] === SUMMARY ? e[S_LAST_PKT] : lo, out = [];
    if (!lo) return out;
    c[AN].forEach(function (a, i) {
      if (a[A_PKTS].some(function (p) { return p >= lo && p <= hi; })) out.push(i);
    });
    return out;
  }

  function ladder(c) {
    var tl = c[TL], H = TOP + tl.length * ROW + 16;
    var svg = sv('svg', { 'class': 'ladder', 'data-conn': c[ID], width: W, height: H,
      viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'Ladder diagram of connection ' + c[ID] });
    svg.append(
      sv('text', { x: XC, y: 16, 'class': 'who' }, 'client'),
      sv('text', { x: XC, y: 32, 'class': 'addr' }, ep(c[CIP], c[CPORT])),
      sv('text', { x: XS, y: 16, 'class': 'who' }, 'server'),
      sv('text', { x: XS, y: 32, 'class': 'addr' }, ep(c[SIP], c[SPORT])),
      sv('line', { x1: XC, y1: TOP - 14, x2: XC, y2: H - 6, 'class': 'life' }),
      sv('line', { x1: XS, y1: TOP - 14, x2: XS, y2: H - 6, 'class': 'life' }));
    var prev = [-1, -1];
    tl.forEach(function (e, i) {
      var y = TOP + i * ROW + ROW / 2, sum = e[E_KIND] === SUMMARY;
      var cs = sum ? e[S_CST] : e[E_CST], ss = sum ? e[S_SST] : e[E_SST];
      var v = sum ? null : e[E_VIA];
      svg.append(sv('text', { x: 4, y: y - 2, 'class': 'time' }, '+' + secs(e[E_DT])));
      if (e[E_PKT]) svg.append(sv('text', { x: 4, y: y + 12, 'class': 'pkt' }, '#' + e[E_PKT]));
      marksOf(c, e).forEach(function (k, j) {
        var a = c[AN][k];
        svg.append(sv('a', { href: '#c' + c[ID] + 'a' + (k + 1), 'class': 'mark sev-' + sev(a[A_SEV]) }, [
          sv('title', null, meta.anomalies[a[A_TYPE]] + ' (' + sev(a[A_SEV]) + ')'),
          sv('circle', { cx: MARKX + j * 18, cy: y, r: 8 }),
          sv('text', { x: MARKX + j * 18, y: y + 4 }, String(k + 1))]));
      });
      svg.append(
        sv('text', { x: XC - 10, y: y + 4, 'class': 'st c' + (cs !== prev[0] ? ' chg' : '') },
          via(v && v[0], cs)),
        sv('text', { x: XS + 10, y: y + 4, 'class': 'st s' + (ss !== prev[1] ? ' chg' : '') },
          via(v && v[1], ss)));
      prev = [cs, ss];
      svg.append(sum ? foldBand(e, y) : e[E_DIR] < 2 ? packetArrow(e, y) : eventLine(e, y));
    });
    return svg;
  }

  /* ---- the chart of connections over time ---- */
  var ENDS = ['fin', 'rst', 'timeout', 'evicted'];

  function axis(svg, x0, x1, y, t0, t1) {
    for (var k = 0; k <= 4; k++) {
      var x = x0 + (x1 - x0) * k / 4, v = (t1 - t0) * k / 4 / 1e6;
      svg.append(sv('line', { x1: x, y1: y, x2: x, y2: y + 4, 'class': 'tick' }),
        sv('text', { x: x, y: y + 16, 'class': 'axis',
          'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' },
          '+' + (k ? String(+v.toPrecision(3)) : '0') + ' s'));
    }
  }

  function legend(svg, x, y, items) {
    items.forEach(function (it) {
      svg.append(sv('rect', { x: x, y: y - 9, width: 10, height: 10, 'class': it[0] }),
        sv('text', { x: x + 14, y: y, 'class': 'legend' }, it[1]));
      x += 24 + it[1].length * 7;
    });
  }

  function gantt(box, t0, t1) {
    var RH = 16, L = 60, R = 980, H = 40 + conns.length * RH + 26, span = Math.max(1, t1 - t0);
    var svg = sv('svg', { 'class': 'chart', viewBox: '0 0 1000 ' + H, role: 'img',
      'aria-label': 'Each connection from its first to its last packet' });
    function x(t) { return L + (t - t0) / span * (R - L); }
    legend(svg, L, 14, [['end-fin', 'fin'], ['end-rst', 'rst'], ['end-timeout', 'timeout'],
      ['end-evicted', 'evicted'], ['end-open', 'open at the end']]);
    conns.forEach(function (c, i) {
      var y = 30 + i * RH, x0 = x(c[T0]), w = Math.max(3, x(c[T1]) - x0);
      var a = sv('a', { href: '#c' + c[ID] }, [
        sv('title', null, '#' + c[ID] + ' ' + ep(c[CIP], c[CPORT]) + ' → ' + ep(c[SIP], c[SPORT]) +
          ', ' + endName(c) + ', ' + secs(c[T1] - c[T0]) + ' s'),
        sv('text', { x: L - 6, y: y + 11, 'class': 'axis end-label' }, '#' + c[ID]),
        sv('rect', { x: x0, y: y + 2, width: w, height: RH - 5, rx: 2, 'class': 'end-' + endName(c) })]);
      svg.append(a);
    });
    axis(svg, L, R, 32 + conns.length * RH, t0, t1);
    box.append(svg);
  }

  function histogram(box, t0, t1) {
    var B = 80, L = 50, R = 980, MID = 150, span = Math.max(1, t1 - t0) + 1;
    var opened = new Array(B).fill(0), closed = ENDS.map(function () { return new Array(B).fill(0); });
    function bin(t) { return Math.min(B - 1, Math.max(0, Math.floor((t - t0) / span * B))); }
    conns.forEach(function (c) {
      opened[bin(c[T0])]++;
      var k = ENDS.indexOf(endName(c));
      if (k >= 0) closed[k][bin(c[T1])]++;
    });
    var open = [], n = 0, top = 1;
    for (var b = 0; b < B; b++) {
      var out = 0;
      closed.forEach(function (row) { out += row[b]; });
      n += opened[b] - out;
      open.push(n);
      top = Math.max(top, opened[b], out);
    }
    var maxOpen = Math.max(1, Math.max.apply(null, open));
    var svg = sv('svg', { 'class': 'chart', viewBox: '0 0 1000 290', role: 'img',
      'aria-label': 'Connections opened and closed per time slice' });
    var bw = (R - L) / B, sc = 110 / top;
    legend(svg, L, 14, [['opened', 'opened'], ['end-fin', 'closed: fin'], ['end-rst', 'rst'],
      ['end-timeout', 'timeout'], ['end-evicted', 'evicted'], ['open-line', 'open (right scale, max ' + maxOpen + ')']]);
    for (b = 0; b < B; b++) {
      var x = L + b * bw, y = MID;
      if (opened[b]) svg.append(sv('rect', { x: x + 1, y: MID - opened[b] * sc, width: bw - 2,
        height: opened[b] * sc, 'class': 'opened' }, sv('title', null, opened[b] + ' opened')));
      closed.forEach(function (row, k) {
        if (!row[b]) return;
        svg.append(sv('rect', { x: x + 1, y: y, width: bw - 2, height: row[b] * sc,
          'class': 'end-' + ENDS[k] }, sv('title', null, row[b] + ' closed by ' + ENDS[k])));
        y += row[b] * sc;
      });
    }
    svg.append(sv('polyline', { 'class': 'open-line', points: open.map(function (v, i) {
      return (L + (i + 0.5) * bw) + ',' + (MID - v / maxOpen * 110);
    }).join(' ') }));
    svg.append(sv('line', { x1: L, y1: MID, x2: R, y2: MID, 'class': 'tick' }),
      sv('text', { x: L - 6, y: MID - 100, 'class': 'axis end-label' }, String(top)),
      sv('text', { x: L - 6, y: MID + 114, 'class': 'axis end-label' }, String(top)));
    axis(svg, L, R, 266, t0, t1);
    box.append(svg);
  }

  function chart() {
    var box = $('chart');
    if (!conns.length) { box.append(h('p', { 'class': 'note' }, 'No connection listed.')); return; }
    var t0 = meta.first_ts, t1 = meta.last_ts;
    conns.forEach(function (c) { t0 = Math.min(t0, c[T0]); t1 = Math.max(t1, c[T1]); });
    if (conns.length <= 40) gantt(box, t0, t1); else histogram(box, t0, t1);
    if (meta.anomalies_only)
      box.append(h('p', { 'class': 'note' }, 'The listed connections only: those with a ' +
        'warning or an error (--anomalies-only).'));
  }

  /* ---- wiring ---- */
  var timer = 0;
  filter.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { page = 0; apply(); }, conns.length > 20000 ? 250 : 0);
  });
  onlyBad.addEventListener('change', function () { page = 0; apply(); });
  $('prev').addEventListener('click', function () { page--; render(); });
  $('next').addEventListener('click', function () { page++; render(); });
  $('expand-all').addEventListener('click', function () {
    for (var j = page * PAGE; j < Math.min(view.length, (page + 1) * PAGE); j++)
      expanded.add(conns[view[j]][ID]);
    render();
  });
  $('collapse-all').addEventListener('click', function () { expanded.clear(); render(); });
  tbody.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr.row');
    if (tr) toggle(+tr.getAttribute('data-id'));
  });
  tbody.addEventListener('keydown', function (ev) {
    var tr = ev.target.closest('tr.row');
    if (tr && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      toggle(+tr.getAttribute('data-id'));
      var again = $('c' + tr.getAttribute('data-id'));
      if (again) again.focus();
    }
  });
  document.querySelectorAll('[data-filter]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter.value = b.getAttribute('data-filter');
      onlyBad.checked = false;
      page = 0;
      apply();
      $('connections').scrollIntoView();
    });
  });
  function onHash() {
    var m = /^#c(\d+)$/.exec(location.hash);
    if (m) reveal(+m[1]);
  }
  window.addEventListener('hashchange', onHash);

  /* Tables the program writes whole (the services): a click on a heading
   * sorts the rows by its cells' data-v (numbers) or their text, again
   * the other way; ties keep first-seen order (the first cell's data-v). */
  document.querySelectorAll('table.sortable').forEach(function (t) {
    var ths = t.querySelectorAll('thead th'), dir = 1, col = -1;
    ths.forEach(function (th, i) {
      th.setAttribute('aria-sort', 'none');
      th.setAttribute('tabindex', '0');
      function sortBy() {
        var num = th.classList.contains('num');
        dir = col === i ? -dir : num ? -1 : 1;
        col = i;
        var body = t.tBodies[0], rows = [].slice.call(body.rows);
        function first(r) { return +r.cells[0].getAttribute('data-v'); }
        rows.sort(function (a, b) {
          var x = a.cells[i], y = b.cells[i];
          var d = num ? +x.getAttribute('data-v') - +y.getAttribute('data-v')
            : x.textContent.localeCompare(y.textContent);
          return d * dir || first(a) - first(b);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        ths.forEach(function (h, k) {
          h.setAttribute('aria-sort', k !== i ? 'none' : dir > 0 ? 'ascending' : 'descending');
        });
      }
      th.addEventListener('click', sortBy);
      th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') sortBy(); });
    });
  });

  header();
  chart();
  apply();
  onHash();
  document.body.setAttribute('data-ready', 'true');
})();
