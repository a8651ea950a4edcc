// celebface page, video part: upload a short video to POST /api/videos, poll GET /api/videos/{id} for progress,
// then draw one timeline row per person (bars where they appear). Plain JavaScript, nothing from elsewhere.
"use strict";

(function () {
  const section = document.getElementById("video-panel");
  if (!section) return;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "/static/video.css";
  document.head.appendChild(css);

  section.innerHTML =
    '<h2>Who appears when in a video</h2>' +
    '<p class="hint">A short video (within the upload limit); faces are looked for twice a second.</p>' +
    '<input id="video-file" type="file" accept="video/*,.mp4,.mov,.mkv,.webm,.avi">' +
    '<p id="video-status" class="status" aria-live="polite"></p>' +
    '<progress id="video-progress" max="1" value="0" hidden></progress>' +
    '<div id="video-timeline" class="timeline"></div>';
  const input = document.getElementById("video-file");
  const status = document.getElementById("video-status");
  const bar = document.getElementById("video-progress");
  const timeline = document.getElementById("video-timeline");
  let run = 0; // answers for an older upload are ignored

  function headers() {
    const token = document.getElementById("token");
    return token && token.value ? { Authorization: "Bearer " + token.value } : {};
  }

  async function call(path, options) {
    const response = await fetch(path, { ...(options || {}), headers: headers() });
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
      throw new Error(detail || "request failed (" + response.status + ")");
    }
    return body;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const secs = (s) => s.toFixed(1) + " s";

  function draw(result) {
    timeline.textContent = "";
    const duration = result.duration || 1;
    if (!result.people.length) {
      timeline.textContent = "Nobody the model knows appears in this video.";
    }
    for (const person of result.people) {
      const row = document.createElement("div");
      row.className = "timeline-row";
      const label = document.createElement("span");
      label.className = "timeline-name";
      label.textContent = person.name.replace(/_/g, " ") + " (" + person.confidence.toFixed(2) + ")";
      const track = document.createElement("div");
      track.className = "timeline-track";
      for (const a of person.appearances) {
        const span = document.createElement("div");
        span.className = "timeline-span";
        const step = 1 / (result.fps_sampled || 2);
        span.style.left = (100 * a.start / duration) + "%";
        span.style.width = Math.max(0.5, 100 * (a.end + step - a.start) / duration) + "%";
        span.title = secs(a.start) + " – " + secs(a.end) + " (" + a.frames + " frames)";
        track.appendChild(span);
      }
      row.append(label, track);
      timeline.appendChild(row);
    }
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = secs(duration) + " of video" +
      (result.unknown_tracks ? "; " + result.unknown_tracks + " track(s) of faces the model does not know" : "");
    timeline.appendChild(note);
  }

  async function analyse(file) {
    const mine = ++run;
    timeline.textContent = "";
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading " + file.name + "…";
    try {
      const form = new FormData();
      form.append("file", file, file.name);
      let job = await call("/api/videos", { method: "POST", body: form });
      while (job.status === "queued" || job.status === "running") {
        if (mine !== run) return;
        status.textContent = (job.status === "queued" ? "Waiting" : "Analysing") + " " + file.name + "… " +
          Math.round(100 * job.progress) + "%";
        bar.value = job.progress;
        await sleep(1000);
        job = await call("/api/videos/" + encodeURIComponent(job.id));
      }
      if (mine !== run) return;
      if (job.status === "failed") throw new Error(job.error || "the video could not be analysed");
      bar.value = 1;
      status.textContent = file.name + ":";
      draw(job.result);
    } catch (err) {
      if (mine === run) status.textContent = "Error: " + err.message;
    } finally {
      if (mine === run) bar.hidden = true;
    }
  }

  input.addEventListener("change", () => {
    if (input.files && input.files[0]) analyse(input.files[0]);
  });
})();
