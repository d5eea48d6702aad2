// Calls to Meet Web's JSON API for this room. Administrators act through their session
// (CSRF header); a participant's own actions carry the LiveKit token the server issued.
import { config, csrfToken } from "./config.js";

export class ApiFailure extends Error {
  constructor(status) {
    super(`status ${status}`);
    this.status = status;
  }
}

export async function post(action, body = {}, { asParticipant = false } = {}) {
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrfToken };
  if (asParticipant) headers.Authorization = `Bearer ${config.token}`;
  let response;
  try {
    response = await fetch(`${config.api}/${action}/`, {
      method: "POST",
      headers,
      credentials: asParticipant ? "omit" : "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0);
  }
  if (!response.ok) throw new ApiFailure(response.status);
  return response.json().catch(() => ({}));
}
