// The account page's camera backgrounds: the browser uploads an image itself, as the
// API asks (create the file, PUT its content to the presigned URL it answers with, then
// upload-ended), and the list is refreshed. Every message is the page's, in the person's
// language (templates/account/_backgrounds.jinja2).
const section = document.querySelector("[data-backgrounds]");
const form = section?.querySelector("[data-background-upload]");
const input = form?.querySelector("input[type=file]");
const errorBox = form?.querySelector("[data-background-error]");
const statusBox = form?.querySelector("[data-background-status]");
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

class UploadFailure extends Error {
  constructor(textKey) {
    super(textKey);
    this.textKey = textKey;
  }
}

function text(key) {
  return section.dataset[`text${key[0].toUpperCase()}${key.slice(1)}`] ?? key;
}

function show(message, { error = false } = {}) {
  errorBox.textContent = error ? message : "";
  errorBox.hidden = !error;
  statusBox.textContent = error ? "" : message;
}

async function api(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  } catch {
    throw new UploadFailure("failed");
  }
  return response;
}

function checkLocally(file) {
  if (!file) throw new UploadFailure("choose");
  const dot = file.name.lastIndexOf(".");
  const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
  if (!section.dataset.extensions.split(" ").includes(extension)) throw new UploadFailure("type");
  if (file.size > Number(section.dataset.maxSize)) throw new UploadFailure("size");
}

async function upload(file) {
  checkLocally(file);
  const created = await api(section.dataset.api, { type: "background_image", filename: file.name });
  if (created.status === 403) throw new UploadFailure("limit");
  if (created.status === 400) throw new UploadFailure("type");
  if (created.status >= 500) throw new UploadFailure("storage");
  if (!created.ok) throw new UploadFailure("failed");
  const { id, policy } = await created.json();
  try {
    // No cookie and no custom header: the store's CORS rules need nothing more.
    const put = await fetch(policy, { method: "PUT", body: file, credentials: "omit" });
    if (!put.ok) throw new Error(`status ${put.status}`);
  } catch {
    throw new UploadFailure("storage");
  }
  const ended = await api(`${section.dataset.api}${id}/upload-ended/`, {});
  if (ended.status === 400) throw new UploadFailure(file.size > Number(section.dataset.maxSize) ? "size" : "type");
  if (ended.status >= 500) throw new UploadFailure("storage");
  if (!ended.ok) throw new UploadFailure("failed");
}

async function refreshList() {
  const list = document.getElementById("background-list");
  const response = await fetch(section.dataset.list, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
  if (!response.ok) return;
  list.innerHTML = await response.text();
  window.htmx?.process(list);
}

if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show(text("uploading"));
    try {
      await upload(input.files[0]);
      form.reset();
      await refreshList();
      show(text("done"));
    } catch (error) {
      show(text(error instanceof UploadFailure ? error.textKey : "failed"), { error: true });
    } finally {
      button.disabled = false;
    }
  });
}
