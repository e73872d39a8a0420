// The main flow without a mouse. Function keys work while typing in the form (a call-taker's
// hands stay on the keyboard); "?" shows the list when not typing.
//   F2  answer the call offered to me (or the oldest ringing one)
//   F4  save the incident and decide (also Ctrl+Enter)
//   F6  dispatch the first recommended unit
//   F8  end the call in hand
//   F9  act on the newest alert (its first button), Shift+F9 acknowledge it
//   ?   this help; Esc closes it

export const KEYS = [
  ["F2", "key_answer"], ["F4 / Ctrl+Enter", "key_save"], ["F6", "key_dispatch"],
  ["F8", "key_end"], ["F9", "key_alert"], ["Shift+F9", "key_alert_ack"], ["?", "key_help"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable
    || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Install the shortcuts; `actions` holds answer, save, dispatch, end, alert, alertAck, help. */
export function installKeys(actions) {
  document.addEventListener("keydown", (event) => {
    const key = event.key;
    let run = null;
    if (key === "F2") run = actions.answer;
    else if (key === "F4" || (key === "Enter" && (event.ctrlKey || event.metaKey))) run = actions.save;
    else if (key === "F6") run = actions.dispatch;
    else if (key === "F8") run = actions.end;
    else if (key === "F9") run = event.shiftKey ? actions.alertAck : actions.alert;
    else if (key === "?" && !typing(event.target)) run = actions.help;
    else if (key === "Escape" && actions.helpOpen()) run = actions.closeHelp; // other dialogs close themselves
    if (!run) return;
    event.preventDefault();
    run();
  });
}
