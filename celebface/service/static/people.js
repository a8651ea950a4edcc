// The people page: people grouped from the archive's faces, named or not; name, merge, split, move, undo.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let token = "";
  let current = null;          // the person shown
  const selected = new Set();  // people picked for a merge
  const picked = new Set();    // faces picked in the person shown

  async function api(path, options) {
    const headers = { ...(token ? { Authorization: "Bearer " + token } : {}), ...((options || {}).headers || {}) };
    const response = await fetch(path, { ...(options || {}), headers });
    if (response.status === 401) { $("token-panel").hidden = false; throw new Error("Access token needed or wrong."); }
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    return response;
  }
  const post = (path, body, method) => api(path, { method: method || "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });

  function say(text, kind) {
    const m = $("message");
    m.textContent = text; m.className = "message " + (kind || "info"); m.hidden = !text;
  }

  async function thumb(img, faceId) {
    try {
      const blob = await (await api("/api/faces/" + faceId + "/thumb")).blob();
      img.src = URL.createObjectURL(blob);
    } catch (e) { img.alt = "no thumbnail"; }
  }

  function label(p) { return p.name === null ? "unnamed #" + p.id : p.name; }

  async function loadPeople() {
    const people = await (await api("/api/persons")).json();
    const grid = $("grid");
    grid.replaceChildren();
    for (const p of people.filter((x) => x.sightings > 0 || x.name !== null)) {
      const li = document.createElement("li");
      li.dataset.id = p.id; li.className = "person" + (selected.has(p.id) ? " selected" : "");
      const img = document.createElement("img"); img.alt = label(p);
      const name = document.createElement("span");
      name.className = "name" + (p.name === null ? " unnamed" : ""); name.textContent = label(p);
      const count = document.createElement("span"); count.className = "count"; count.textContent = p.sightings + " faces";
      const box = document.createElement("input"); box.type = "checkbox"; box.title = "select for a merge";
      box.checked = selected.has(p.id);
      box.addEventListener("click", (e) => {
        e.stopPropagation(); toggle(selected, p.id); loadPeople().catch((err) => say(err.message, "warn"));
      });
      li.append(img, name, count, box);
      li.addEventListener("click", () => showPerson(p).catch((err) => say(err.message, "warn")));
      grid.append(li);
      // a person merged away since the list was read has no faces to show: the next refresh redraws the grid
      api("/api/persons/" + p.id + "/faces").then((r) => r.json())
        .then((f) => { if (f.length) thumb(img, f[0].face); }).catch(() => { img.alt = "no thumbnail"; });
    }
    $("merge").disabled = selected.size !== 2;
  }

  function toggle(set, v) { if (set.has(v)) set.delete(v); else set.add(v); }

  async function showPerson(p) {
    current = p; picked.clear();
    $("person").hidden = false;
    $("person-title").textContent = label(p) + " (id " + p.id + ")";
    $("new-name").value = p.name || "";
    const faces = await (await api("/api/persons/" + p.id + "/faces")).json();
    const ul = $("faces");
    ul.replaceChildren();
    for (const f of faces) {
      const li = document.createElement("li"); li.dataset.face = f.face; li.className = "face";
      const img = document.createElement("img"); img.alt = "face " + f.face; thumb(img, f.face);
      const cap = document.createElement("span"); cap.textContent = "face " + f.face + (f.pinned ? " ✓" : "");
      li.append(img, cap);
      li.addEventListener("click", () => { toggle(picked, f.face); li.classList.toggle("picked"); faceButtons(); });
      ul.append(li);
    }
    faceButtons();
  }

  function faceButtons() {
    for (const id of ["not-person", "split", "move"]) $(id).disabled = picked.size === 0;
  }

  async function change(fn) {
    try {
      const result = await (await fn()).json();
      say(result.summary + " (Undo takes it back)", "info");
    } catch (e) { say(e.message, "warn"); }
    await refresh();
  }

  async function refresh() {
    try {
      await loadPeople();
      if (current) {
        const people = await (await api("/api/persons")).json();
        const still = people.find((x) => x.id === current.id);
        if (still) await showPerson(still); else { current = null; $("person").hidden = true; }
      }
      await loadSuggestions();
    } catch (e) { say(e.message, "warn"); }
  }

  async function loadSuggestions() {
    const s = await (await api("/api/persons/suggestions")).json();
    const ul = $("suggestions");
    ul.replaceChildren();
    for (const p of s.same_person.slice(0, 10)) {
      const li = document.createElement("li");
      li.textContent = "Same person? #" + p.a + " and #" + p.b + " (distance " + p.distance.toFixed(3) + ") ";
      const b = document.createElement("button"); b.type = "button"; b.textContent = "Merge";
      b.addEventListener("click", () => change(() => post("/api/persons/" + p.a + "/merge", { other: p.b })));
      li.append(b); ul.append(li);
    }
    for (const m of s.misassigned.slice(0, 10)) {
      const li = document.createElement("li");
      li.textContent = "Face " + m.sighting + " may not be #" + m.person + (m.better !== null ? " (fits #" + m.better + ")" : "");
      ul.append(li);
    }
    for (const [pid, n] of s.to_name.slice(0, 5)) {
      const li = document.createElement("li");
      li.textContent = "Name #" + pid + " next: " + n + " faces";
      ul.append(li);
    }
  }

  // "Who is this?": the uploaded photo's faces, each with the person it is (a link to them in the grid)
  async function whoIs(file) {
    const form = new FormData(); form.append("file", file);
    const result = await (await api("/api/persons/who", { method: "POST", body: form })).json();
    const photo = new Image(); photo.src = URL.createObjectURL(file); await photo.decode();
    const ul = $("who-faces");
    ul.replaceChildren();
    say(result.faces.length ? "" : "No face found in " + result.image + ".", "warn");
    for (const f of result.faces) {
      const li = document.createElement("li"); li.className = "face who";
      const canvas = document.createElement("canvas"); canvas.width = 100; canvas.height = 100;
      const [x1, y1, x2, y2] = f.box;
      canvas.getContext("2d").drawImage(photo, x1, y1, x2 - x1, y2 - y1, 0, 0, 100, 100);
      const cap = document.createElement(f.person === null ? "span" : "a");
      if (f.person === null) cap.textContent = "nobody known yet";
      else {
        cap.href = "#"; cap.dataset.person = f.person;
        cap.textContent = label({ id: f.person, name: f.name }) + " (" + f.similarity.toFixed(2) + ")";
        cap.addEventListener("click", (e) => { e.preventDefault(); jumpTo(f.person).catch((err) => say(err.message, "warn")); });
      }
      li.append(canvas, cap); ul.append(li);
    }
  }

  async function jumpTo(pid) {
    for (const li of document.querySelectorAll("#grid li.found")) li.classList.remove("found");
    const li = document.querySelector('#grid li.person[data-id="' + pid + '"]');
    if (li) { li.classList.add("found"); li.scrollIntoView({ block: "center" }); }
    const p = (await (await api("/api/persons")).json()).find((x) => x.id === pid);
    if (p) await showPerson(p);
  }

  $("who-file").addEventListener("change", (e) => {
    if (e.target.files.length) whoIs(e.target.files[0]).catch((err) => say(err.message, "warn"));
  });
  $("group").addEventListener("click", () => change(() => post("/api/persons/group", { full: false })));
  $("undo").addEventListener("click", () => change(() => api("/api/undo", { method: "POST" })));
  $("merge").addEventListener("click", () => {
    const [a, b] = [...selected]; selected.clear();
    change(() => post("/api/persons/" + a + "/merge", { other: b }));
  });
  $("rename").addEventListener("submit", (e) => {
    e.preventDefault();
    change(() => post("/api/persons/" + current.id, { name: $("new-name").value.trim() }, "PATCH"));
  });
  $("not-person").addEventListener("click", () => change(() => post("/api/persons/" + current.id + "/not", { faces: [...picked] })));
  $("split").addEventListener("click", () => change(() => post("/api/persons/" + current.id + "/split", { faces: [...picked] })));
  $("move").addEventListener("click", () => change(() => post("/api/faces/move",
    { faces: [...picked], person: parseInt($("move-to").value, 10) })));
  $("token-panel").addEventListener("submit", (e) => { e.preventDefault(); token = $("token").value.trim();
    $("token-panel").hidden = true; refresh(); });
  refresh();
})();
