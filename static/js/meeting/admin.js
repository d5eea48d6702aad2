// What administrators do to others: mute, remove (confirmed), promote, end the meeting.
import { announce } from "./announcer.js";
import { ApiFailure, post } from "./app-api.js";
import { t } from "./config.js";
import { confirmAction } from "./confirm.js";
import { apiErrorKey } from "./errors.js";
import { clearNotice, showNotice } from "./notice.js";
import { displayName } from "./participants-of.js";

function failed(error) {
  showNotice(t(apiErrorKey(error instanceof ApiFailure ? error.status : 0)));
}

export function createAdminActions(room, LK) {
  return {
    async mute(participant) {
      const microphone = participant.getTrackPublication(LK.Track.Source.Microphone);
      if (!microphone) return;
      try {
        await post("mute-participant", { participant_identity: participant.identity, track_sid: microphone.trackSid });
        announce(t("mutedSomeone", { name: displayName(participant) }));
      } catch (error) {
        failed(error);
      }
    },

    async remove(participant) {
      const name = displayName(participant);
      const confirmed = await confirmAction({
        title: t("confirmRemoveTitle", { name }),
        text: t("confirmRemove", { name }),
        confirmLabel: t("remove"),
      });
      if (!confirmed) return;
      try {
        await post("remove-participant", { participant_identity: participant.identity });
        announce(t("removedSomeone", { name }));
      } catch (error) {
        failed(error);
      }
    },

    async promote(participant) {
      const name = displayName(participant);
      try {
        const answer = await post("update-participant-role", { participant_identity: participant.identity, role: "administrator" });
        announce(t(answer.livekit_synced === false ? "promotedNotSynced" : "promotedSomeone", { name }));
      } catch (error) {
        failed(error);
      }
    },

    async endMeeting() {
      const confirmed = await confirmAction({
        title: t("confirmEndTitle"),
        text: t("confirmEnd"),
        confirmLabel: t("endMeeting"),
      });
      if (!confirmed) return;
      try {
        await post("end-meeting");
        clearNotice(); // LiveKit now disconnects everyone: the page tells why
      } catch (error) {
        failed(error);
      }
    },
  };
}
