// Pre-join: camera preview and device choice. Without camera access the form still works.
// Its texts come from the page, in the page's language (templates/meeting/_prejoin.jinja2).
(function () {
  "use strict";
  const form = document.querySelector("[data-prejoin]");
  if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  const video = document.getElementById("preview-video");
  const status = document.getElementById("preview-status");
  let stream = null;

  function stop() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    form.querySelectorAll("select[data-device-kind]").forEach((select) => {
      const chosen = select.value;
      select.querySelectorAll("option:not([value=''])").forEach((o) => o.remove());
      devices.filter((d) => d.kind === select.dataset.deviceKind).forEach((d, i) => {
        const fallback = select.dataset.fallbackLabel.replace("{number}", String(i + 1));
        const option = new Option(d.label || fallback, d.deviceId);
        option.selected = d.deviceId === chosen;
        select.add(option);
      });
    });
  }

  async function preview() {
    stop();
    const camera = form.querySelector("#camera-select").value;
    const microphone = form.querySelector("#microphone-select").value;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: camera ? { deviceId: { exact: camera } } : true,
        audio: microphone ? { deviceId: { exact: microphone } } : true,
      });
      video.srcObject = stream;
      status.textContent = "";
      await listDevices();
    } catch (err) {
      status.textContent = status.dataset.unavailable;
    }
  }

  form.querySelectorAll("select[data-device-kind]").forEach((s) => s.addEventListener("change", preview));
  form.addEventListener("submit", () => {
    const camera = form.querySelector("#camera-select").value;
    const microphone = form.querySelector("#microphone-select").value;
    sessionStorage.setItem("meet-devices", JSON.stringify({ camera, microphone }));
    stop();
  });
  preview();
})();
