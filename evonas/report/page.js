// The report page's script (evonas/report/html.py puts it into the page): draws the report's data.
(function(){
const root = document.getElementById('report');
let DATA = JSON.parse(document.getElementById('report-data').textContent);
const LIVE = DATA.live || false;
let selected = {};
function esc(s){return String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function table(rows, cls){return '<table class="'+cls+'">'+rows.map(r=>'<tr>'+r.map(c=>'<td>'+esc(c)+'</td>').join('')+'</tr>').join('')+'</table>';}
function showPoint(runIndex, row){
  const run = DATA.runs[runIndex]; const p = run.points[row]; if(!p) return;
  selected[runIndex] = row;
  const el = document.getElementById('details-'+runIndex);
  let h = '<b>architecture #'+p[0]+'</b> (generation '+p[1]+')<br>'+p[3].map(esc).join('<br>');
  h += '<br><span style="word-break:break-all">key: <code>'+esc(p[2])+'</code></span>';
  const img = run.drawings[String(row)];
  h += img ? '<br><img alt="cell diagram" src="'+img+'">' : '<br><i>no diagram (the space draws none, or this point is off the front)</i>';
  h += '<h3>train it from scratch</h3><textarea readonly class="genotype">'+esc(p[4])+'</textarea>'
     + '<button type="button" class="copy">copy</button>';
  el.innerHTML = h;
  el.querySelector('button.copy').onclick = () => { const t = el.querySelector('textarea'); t.select();
    if (navigator.clipboard) navigator.clipboard.writeText(t.value).catch(()=>document.execCommand('copy'));
    else document.execCommand('copy'); };
}
function build(){
  document.getElementById('title').textContent = DATA.title;
  document.title = DATA.title;
  document.getElementById('generated').textContent = 'generated ' + DATA.generated + (LIVE ? ' (live: refreshes while the run grows)' : '');
  let h = '';
  if (DATA.comparison){
    h += '<section class="comparison"><h2>runs side by side</h2>';
    if (DATA.comparison.figure) h += '<div id="overlay" class="plot"></div>';
    h += '<table class="grid"><tr>'+DATA.comparison.header.map(c=>'<th>'+esc(c)+'</th>').join('')+'</tr>'
       + DATA.comparison.rows.map(r=>'<tr>'+r.map(c=>'<td>'+esc(c)+'</td>').join('')+'</tr>').join('')+'</table></section>';
  }
  DATA.runs.forEach((run, i) => {
    h += '<section class="run" id="run-'+i+'"><h2>'+esc(run.name)+' <span class="status '+run.status+'">'+run.status+'</span></h2>';
    h += table(run.facts, 'facts');
    run.figures.forEach(f => {
      if (f.role === 'front') h += '<div class="front-row"><div id="'+f.id+'" class="plot front"></div><div class="details" id="details-'+i+'"><i>click a point to see its architecture</i></div></div>';
      else h += '<div id="'+f.id+'" class="plot '+f.role+'"></div>';
    });
    run.texts.forEach(t => { h += '<h3>'+esc(t.title)+'</h3>' + (t.image ? '<img alt="diagram" style="max-width:100%" src="'+t.image+'">' : '') + '<pre>'+esc(t.text)+'</pre>'; });
    h += '</section>';
  });
  root.innerHTML = h;
  const config = {responsive: true, displaylogo: false};
  if (DATA.comparison && DATA.comparison.figure){
    Plotly.newPlot('overlay', DATA.comparison.figure.data, DATA.comparison.figure.layout, config);
    document.getElementById('overlay').on('plotly_click', ev => { const c = ev.points[0].customdata; if (c) { showPoint(c[0], c[1]); document.getElementById('run-'+c[0]).scrollIntoView(); } });
  }
  DATA.runs.forEach((run, i) => run.figures.forEach(f => {
    Plotly.newPlot(f.id, f.figure.data, f.figure.layout, config);
    if (f.role === 'front') document.getElementById(f.id).on('plotly_click', ev => { const c = ev.points[0].customdata; if (c) showPoint(c[0], c[1]); });
  }));
  Object.entries(selected).forEach(([r, row]) => showPoint(Number(r), row));
  window.evonasReport = {data: DATA, showPoint: showPoint, builds: (window.evonasReport ? window.evonasReport.builds : 0) + 1};
}
build();
if (LIVE) {
  setInterval(() => {
    fetch('data.json?signature=' + encodeURIComponent(DATA.signature), {cache: 'no-store'})
      .then(r => r.status === 200 ? r.json() : null)
      .then(d => { if (d && d.signature !== DATA.signature) { d.live = true; DATA = d; build(); } })
      .catch(() => {});
  }, DATA.refresh * 1000);
}
})();
