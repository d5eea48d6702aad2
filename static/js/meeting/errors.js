// Browser and client errors become sentences of the page; raw messages are never shown.

// kind: "camera" | "microphone" | "screen"
export function mediaErrorKey(error, kind) {
  const name = error?.name || "";
  if (kind === "screen") {
    return name === "NotAllowedError" || name === "AbortError" ? "screenDenied" : "screenFailed";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return kind === "camera" ? "noCamera" : "noMicrophone";
  }
  if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
    return kind === "camera" ? "cameraDenied" : "microphoneDenied";
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return kind === "camera" ? "cameraBusy" : "microphoneBusy";
  }
  if (/permission|not allowed to publish|insufficient/i.test(error?.message || "")) {
    return "publishNotAllowed";
  }
  return kind === "camera" ? "cameraFailed" : "microphoneFailed";
}

// An answer of Meet Web's API (status) as a sentence key.
export function apiErrorKey(status) {
  if (status === 401 || status === 403) return "notAllowed";
  if (status === 404) return "gone";
  if (status === 502 || status === 503 || status === 504 || status === 0) return "mediaServerDown";
  return "actionFailed";
}
