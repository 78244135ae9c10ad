// Import job page: poll the job's progress; reload for the result once it has finished.
// The translated progress text comes from <script type="application/json" id="job-progress-text-template">.
(function () {
  const box = document.getElementById("job-progress");
  const bar = document.getElementById("job-progress-bar");
  const text = document.getElementById("job-progress-text");
  const source = document.getElementById("job-progress-text-template");
  if (!box || !bar || !text || !source) return;
  const template = JSON.parse(source.textContent);
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, {headers: {Accept: "application/json"}});
      if (response.ok) {
        const job = await response.json();
        bar.style.width = job.percent + "%";
        bar.textContent = job.percent + "%";
        bar.parentElement.setAttribute("aria-valuenow", job.percent);
        text.textContent = template.replace("DONE", job.rows_done).replace("TOTAL", job.rows_total);
        if (job.finished) { window.location.reload(); return; }
      }
    } catch (err) { /* the server may be restarting: keep polling */ }
    window.setTimeout(poll, 700);
  }
  window.setTimeout(poll, 300);
})();
