// Reading participants the same way everywhere: names, roles, hands, guests.
import { config } from "./config.js";

export function everyone(room) {
  return [room.localParticipant, ...room.remoteParticipants.values()];
}

// Before the connection, the local participant has no name yet: the server's is used.
export function displayName(participant) {
  return participant.name || (participant.isLocal && config.username) || participant.identity;
}

export function findParticipant(room, identity) {
  if (room.localParticipant.identity === identity) return room.localParticipant;
  return room.remoteParticipants.get(identity);
}

export function isGuest(participant) {
  return (participant.attributes || {}).is_authenticated === "false";
}

export function roomRole(participant) {
  return (participant.attributes || {}).room_role || "";
}

export function handRaisedAt(participant) {
  const stamp = (participant.attributes || {}).handRaisedAt;
  const time = stamp ? Date.parse(stamp) : NaN;
  return Number.isNaN(time) ? null : time;
}

export function publication(participant, source) {
  return participant.getTrackPublication(source);
}

export function isMicrophoneMuted(participant, LK) {
  const pub = publication(participant, LK.Track.Source.Microphone);
  return !pub || pub.isMuted;
}
