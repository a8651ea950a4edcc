// The "Find the people in a pile of photos" panel: POST /api/cluster, poll the job, show each cluster's
// contact sheet with a name field that enrols the cluster as a person.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const form = $("cluster-form"), files = $("cluster-files"), status = $("cluster-status"), grid = $("clusters");

  function headers() {
    const t = ($("token") && $("token").value || "").trim();
    return t ? { Authorization: "Bearer " + t } : {};
  }

  async function call(path, body) {
    const r = await fetch(path, { method: body ? "POST" : "GET", body: body, headers: headers() });
    const data = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
    if (!r.ok) throw new Error((data && data.detail) || ("HTTP " + r.status));
    return data;
  }

  async function sheet(img, path) {
    const r = await fetch(path, { headers: headers() });
    if (r.ok) img.src = URL.createObjectURL(await r.blob());
  }

  function card(jobId, c) {
    const div = document.createElement("div");
    div.className = "cluster";
    const img = document.createElement("img");
    img.alt = "Faces of cluster " + c.id;
    sheet(img, `/api/cluster/${jobId}/${c.id}/sheet.png`);
    const caption = document.createElement("p");
    caption.textContent = `${c.id}: ${c.size} faces` + (c.name ? ` — looks like ${c.name}` : "");
    const f = document.createElement("form");
    const name = document.createElement("input");
    name.placeholder = "Name to enrol";
    name.required = true;
    name.maxLength = 100;
    name.value = c.name || "";
    const button = document.createElement("button");
    button.textContent = "Enrol";
    const said = document.createElement("span");
    said.className = "hint";
    f.append(name, button, said);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = new FormData();
      body.append("name", name.value.trim());
      said.textContent = "enrolling…";
      try {
        const s = await call(`/api/cluster/${jobId}/${c.id}/enrol`, body);
        said.textContent = `enrolled ${s.name} from ${s.faces} faces`;
      } catch (err) { said.textContent = err.message; }
    });
    div.append(img, caption, f);
    return div;
  }

  function show(job) {
    grid.textContent = "";
    const ix = job.index;
    status.textContent = `${ix.photos} photos, ${ix.faces} faces: ${ix.clusters.length} clusters, ` +
      `${ix.left_out} faces in no cluster`;
    ix.clusters.forEach((c) => grid.append(card(job.id, c)));
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = new FormData();
    for (const f of files.files) body.append("files", f);
    status.textContent = "uploading…";
    grid.textContent = "";
    try {
      let job = await call("/api/cluster", body);
      while (job.status === "running") {
        status.textContent = "finding and grouping faces…";
        await new Promise((ok) => setTimeout(ok, 1000));
        job = await call(`/api/cluster/${job.id}`);
      }
      if (job.status === "failed") throw new Error(job.error);
      show(job);
    } catch (err) { status.textContent = err.message; }
  });
})();
