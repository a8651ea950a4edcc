// celebface page: choose, drop or paste a photo; the faces come back from POST /api/predict and are drawn
// as boxes over the photo and listed beside it. Plain JavaScript, nothing loaded from elsewhere.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const els = {
    people: $("people"), tokenPanel: $("token-panel"), token: $("token"), drop: $("drop"), file: $("file"),
    choose: $("choose"), limit: $("limit"), message: $("message"), status: $("status"), result: $("result"),
    photo: $("photo"), boxes: $("boxes"), faces: $("faces"), caption: $("caption"), enrolPanel: $("enrol-panel"),
    enrolForm: $("enrol-form"), enrolName: $("enrol-name"), enrolFiles: $("enrol-files"),
  };
  const MULTIPART_SLACK = 16 * 1024; // room for the form's own headers within the server's body limit
  let token = "";          // typed by the user; kept in this page only
  let maxUpload = null;    // bytes, from /api/health
  let sequence = 0;        // answers to older uploads are ignored
  let objectUrl = null;
  let lastPhoto = null;    // retried after a token is entered

  const pretty = (name) => name.replace(/_/g, " ");
  const pct = (p) => (100 * p).toFixed(1) + "%";
  const mb = (n) => (n / (1024 * 1024)).toFixed(n < 1024 * 1024 ? 2 : 1) + " MB";

  function showMessage(text, kind) {
    els.message.textContent = text;
    els.message.className = "message " + (kind || "error");
    els.message.hidden = !text;
  }

  function setStatus(text) {
    els.status.textContent = text || "";
  }

  function authHeaders() {
    return token ? { Authorization: "Bearer " + token } : {};
  }

  // fetch + JSON; throws Error(message) with .status for any answer but 2xx.
  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, { ...(options || {}), headers: { ...authHeaders(), ...((options || {}).headers || {}) } });
    } catch (err) {
      const e = new Error("Could not reach the server. Is it still running?");
      e.status = 0;
      throw e;
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      let detail = body && body.detail;
      if (typeof detail !== "string") detail = response.statusText || "request failed";
      const e = new Error(explain(response.status, detail));
      e.status = response.status;
      throw e;
    }
    return body;
  }

  function explain(status, detail) {
    switch (status) {
      case 401: return "Access token needed or wrong: " + detail + ". Type the token above.";
      case 409: return detail;
      case 413: return "Too large: " + detail + ".";
      case 415: return "Not a photo the server can read: " + detail + ".";
      case 422: return detail;
      case 500: return "The server failed on this photo: " + detail + ".";
      default: return "Error " + status + ": " + detail;
    }
  }

  function needToken(message) {
    els.tokenPanel.hidden = false;
    els.token.focus();
    showMessage(message || "This server needs an access token. Type it above.", "warn");
  }

  async function loadInfo() {
    try {
      const health = await api("/api/health");
      maxUpload = health.max_upload_bytes;
      els.limit.textContent = "Photos up to " + mb(maxUpload) + ". The photo is sent to this server only.";
      const people = await api("/api/people");
      els.people.textContent = people.count
        ? "Knows " + people.count + " people: " + people.people.map(pretty).join(", ") + "."
        : "The model knows nobody yet.";
      els.enrolPanel.hidden = !people.can_enroll;
      if (els.message.classList.contains("warn")) showMessage("");
      return true;
    } catch (err) {
      if (err.status === 401) {
        els.people.textContent = "Locked: this server needs an access token.";
        needToken(token ? "That token was not accepted. Check it and try again." : null);
      } else {
        els.people.textContent = "";
        showMessage(err.message);
      }
      return false;
    }
  }

  function clearResult() {
    els.boxes.replaceChildren();
    els.faces.replaceChildren();
    els.caption.textContent = "";
  }

  async function predict(file) {
    if (!file) return;
    lastPhoto = file;
    const mine = ++sequence;
    showMessage("");
    clearResult();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    els.photo.src = objectUrl;
    els.photo.alt = file.name || "the photo";
    els.result.hidden = false;
    if (maxUpload !== null && file.size + MULTIPART_SLACK > maxUpload) {
      setStatus("");
      showMessage("Too large: " + (file.name || "this photo") + " is " + mb(file.size) + "; this server takes photos up to "
        + mb(maxUpload) + ". Choose a smaller photo.");
      return;
    }
    setStatus("Finding faces in " + (file.name || "the photo") + "…");
    els.result.classList.add("busy");
    const form = new FormData();
    form.append("file", file, file.name || "photo");
    try {
      const result = await api("/api/predict", { method: "POST", body: form });
      if (mine !== sequence) return;
      render(result);
    } catch (err) {
      if (mine !== sequence) return;
      setStatus("");
      els.result.hidden = true;
      if (err.status === 401) needToken(err.message);
      else showMessage(err.message);
    } finally {
      if (mine === sequence) els.result.classList.remove("busy");
    }
  }

  function render(result) {
    clearResult();
    const faces = result.faces || [];
    const known = faces.filter((f) => f.name && f.name !== "unknown").length;
    setStatus(faces.length
      ? faces.length + (faces.length === 1 ? " face" : " faces") + " found, " + known + " recognised."
      : "");
    if (!faces.length) showMessage("No face found in this photo. Try one where the face is clear and not too small.", "info");
    els.caption.textContent = result.image + " · " + result.width + "×" + result.height + " pixels";
    faces.forEach((face, i) => {
      const [x1, y1, x2, y2] = face.box;
      const unknown = face.name === "unknown";
      const unnamed = face.name === null || face.name === undefined;  // too small, not a face, too blurred
      const label = unnamed ? "(" + (face.reason || "not named") + ")" : pretty(face.name) + " " + pct(face.confidence);
      const box = document.createElement("div");
      box.className = "box" + (unknown ? " unknown" : "") + (unnamed ? " unnamed" : "") + (i === 0 ? " main" : "");
      box.style.left = (100 * x1 / result.width) + "%";
      box.style.top = (100 * y1 / result.height) + "%";
      box.style.width = (100 * (x2 - x1) / result.width) + "%";
      box.style.height = (100 * (y2 - y1) / result.height) + "%";
      box.dataset.index = String(i);
      // Label above the box (below it at the top edge), right-aligned for faces on the right side; with
      // many faces only the number shows until the face is pointed at.
      const tag = document.createElement("span");
      tag.className = "tag" + (y1 / result.height < 0.08 ? " below" : "")
        + ((x1 + x2) / 2 / result.width > 0.6 ? " right" : "");
      tag.dataset.compact = faces.length > 6 ? "1" : "0";
      const num = document.createElement("span");
      num.textContent = String(i + 1);
      const full = document.createElement("span");
      full.className = "full";
      full.textContent = ". " + label;
      tag.append(num, full);
      box.title = (i + 1) + ". " + label;
      box.appendChild(tag);
      els.boxes.appendChild(box);

      const item = document.createElement("li");
      item.className = "face" + (unknown ? " unknown" : "") + (unnamed ? " unnamed" : "");
      item.dataset.index = String(i);
      item.dataset.name = unnamed ? "" : face.name;
      const title = document.createElement("div");
      title.className = "face-name";
      title.textContent = unnamed ? "Not named" : pretty(face.name);
      const conf = document.createElement("span");
      conf.className = "confidence";
      conf.textContent = unnamed ? "" : pct(face.confidence);
      title.appendChild(conf);
      const details = document.createElement("div");
      details.className = "face-details";
      const top = (face.top || []).map(([n, p]) => pretty(n) + " " + pct(p)).join(" · ");
      details.textContent = unnamed
        ? "Face quality " + pct(face.quality) + ": " + (face.reason || "too poor") + ", so it is not matched."
        : (unknown ? "Not sure enough to name (score " + face.score.toFixed(3) + "). " : "") + "Top: " + top;
      item.append(title, details);
      els.faces.appendChild(item);

      const on = () => { box.classList.add("hot"); item.classList.add("hot"); };
      const off = () => { box.classList.remove("hot"); item.classList.remove("hot"); };
      for (const el of [box, item]) {
        el.addEventListener("mouseenter", on);
        el.addEventListener("mouseleave", off);
      }
    });
    if (els.photo.complete && els.photo.naturalWidth) declutter();
  }

  // Labels that would cover one another shrink to their number (the full label shows on pointing).
  function declutter() {
    const placed = [];
    for (const tag of els.boxes.querySelectorAll(".tag")) {
      tag.classList.toggle("compact", tag.dataset.compact === "1");
      let r = tag.getBoundingClientRect();
      const hits = (a) => placed.some((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom);
      if (hits(r)) {
        tag.classList.add("compact");
        r = tag.getBoundingClientRect();
      }
      placed.push(r);
    }
  }
  els.photo.addEventListener("load", declutter);
  window.addEventListener("resize", declutter);

  // Choosing, dropping and pasting photos.
  els.choose.addEventListener("click", () => els.file.click());
  els.drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); els.file.click(); }
  });
  els.file.addEventListener("change", () => {
    if (els.file.files.length) predict(els.file.files[0]);
    els.file.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    els.drop.addEventListener(type, (e) => { e.preventDefault(); els.drop.classList.add("over"); });
  }
  els.drop.addEventListener("dragleave", () => els.drop.classList.remove("over"));
  els.drop.addEventListener("drop", (e) => {
    e.preventDefault();
    els.drop.classList.remove("over");
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) predict(files[0]);
    else showMessage("Drop a photo file (from your computer), not a link.");
  });
  // A photo dropped anywhere else must not make the browser leave the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  window.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item) predict(item.getAsFile());
  });
  els.photo.addEventListener("error", () => {
    if (els.photo.getAttribute("src")) {
      els.caption.textContent = "Your browser cannot show this format; the faces are still listed.";
    }
  });

  els.tokenPanel.addEventListener("submit", async (e) => {
    e.preventDefault();
    token = els.token.value.trim();
    if (await loadInfo()) {
      showMessage("Token accepted.", "info");
      if (lastPhoto) predict(lastPhoto);
    }
  });

  els.enrolForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = els.enrolName.value.trim();
    const files = [...els.enrolFiles.files];
    if (!name || !files.length) return;
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    setStatus("Adding " + pretty(name) + "…");
    try {
      const r = await api("/api/people/" + encodeURIComponent(name), { method: "POST", body: form });
      setStatus("");
      showMessage((r.updated ? "Updated " : "Added ") + pretty(name) + " from " + r.faces + " face(s)"
        + (r.skipped && r.skipped.length ? "; skipped: " + r.skipped.join("; ") : "") + ".", "info");
      els.enrolForm.reset();
      loadInfo();
    } catch (err) {
      setStatus("");
      if (err.status === 401) needToken(err.message);
      else showMessage(err.message);
    }
  });

  loadInfo();
})();
