"""``GET /dashboard``: a live dashboard of the CloudWatch-style metrics, and ``GET /dashboard/data``,
the JSON it polls.

The page is self-contained (no CDN, no framework: the server may have no internet): a little
JavaScript fetches ``/dashboard/data`` every second and draws one SVG chart per metric, one line
per table, over the last five minutes (``metrics.Recorder`` keeps one sample a second).  Each
chart says how many points it drew in its ``data-points`` attribute (the browser test reads it).
Like ``/metrics``, both are unauthenticated: bind the server to a trusted interface.
"""

from __future__ import annotations

from typing import Any

import orjson

from .http import HttpResponse

CHARTS = (  # (series name, title, unit)
    ("ConsumedReadCapacityUnits", "Consumed read capacity", "units/s"),
    ("ConsumedWriteCapacityUnits", "Consumed write capacity", "units/s"),
    ("SuccessfulRequests", "Successful requests", "requests/s"),
    ("SuccessfulRequestLatency", "Successful request latency", "ms"),
    ("ThrottledRequests", "Throttled requests", "requests/s"),
    ("Errors", "Errors", "requests/s"),
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dynamoray dashboard</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 4px}#status{color:#666;margin-bottom:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.chart{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
.chart h2{font-size:14px;margin:0 0 4px}.chart svg{width:100%;height:160px}
.legend span{margin-right:10px;font-size:12px}
</style></head><body>
<h1>dynamoray</h1><div id="status">waiting for data...</div>
<div class="grid" id="charts">__CHARTS__</div>
<script>
const COLORS=["#1f77b4","#d62728","#2ca02c","#ff7f0e","#9467bd","#8c564b","#e377c2","#17becf"];
const W=400,H=150,PAD=30;
function draw(chart,points){
  const metric=chart.dataset.metric,svg=chart.querySelector("svg"),legend=chart.querySelector(".legend");
  const tables=[...new Set(points.flatMap(p=>Object.keys(p.tables)))].sort();
  let max=0,count=0;
  for(const p of points)for(const t of tables){const v=(p.tables[t]||{})[metric]||0;if(v>max)max=v;}
  max=max||1;
  const t0=points.length?points[0].time:0,t1=points.length?points[points.length-1].time:1,span=(t1-t0)||1;
  let body=`<line x1="${PAD}" y1="${H-PAD/2}" x2="${W}" y2="${H-PAD/2}" stroke="#999"/>`+
    `<text x="2" y="12" font-size="10">${max.toPrecision(3)}</text><text x="2" y="${H-PAD/2}" font-size="10">0</text>`;
  legend.innerHTML="";
  tables.forEach((t,i)=>{
    const color=COLORS[i%COLORS.length],pts=[];
    for(const p of points){const v=(p.tables[t]||{})[metric];if(v===undefined)continue;
      const x=PAD+(p.time-t0)/span*(W-PAD),y=(H-PAD/2)-v/max*(H-PAD);pts.push(x.toFixed(1)+","+y.toFixed(1));}
    count+=pts.length;
    body+=`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(" ")}"/>`;
    const label=document.createElement("span");label.style.color=color;label.textContent=t;legend.appendChild(label);
  });
  svg.innerHTML=body;chart.dataset.points=count;chart.dataset.tables=tables.length;
}
async function poll(){
  try{
    const answer=await fetch("/dashboard/data",{cache:"no-store"});
    const data=await answer.json();
    for(const chart of document.querySelectorAll(".chart"))draw(chart,data.points);
    const s=document.getElementById("status");
    s.textContent=`${data.points.length} samples, ${data.tables.length} tables, updated ${new Date().toLocaleTimeString()}`;
    s.dataset.samples=data.points.length;
  }catch(e){document.getElementById("status").textContent="no data: "+e;}
}
poll();setInterval(poll,1000);
</script></body></html>
"""


def page() -> bytes:
    charts = "".join(
        f'<div class="chart" data-metric="{metric}" data-points="0"><h2>{title} <small>({unit})</small></h2>'
        f'<svg viewBox="0 0 400 150" preserveAspectRatio="none"></svg><div class="legend"></div></div>'
        for metric, title, unit in CHARTS
    )
    return _PAGE.replace("__CHARTS__", charts).encode()


def data(telemetry: Any) -> dict:
    series = telemetry.recorder.series()
    tables = sorted({table for point in series["points"] for table in point["tables"]})
    return {**series, "tables": tables, "metrics": [metric for metric, _, _ in CHARTS]}


def respond(path: str, telemetry: Any) -> HttpResponse:
    if telemetry is None:
        return HttpResponse(404, b"")
    if path in ("/dashboard", "/dashboard/"):
        return HttpResponse(200, page(), "text/html; charset=utf-8")
    if path == "/dashboard/data":
        return HttpResponse(200, orjson.dumps(data(telemetry)), "application/json",
                            [("Cache-Control", "no-store")])
    return HttpResponse(404, b"")
