// A short tone made in the browser (no sound file is fetched): louder news, higher pitch.

let audio = null;

export function tone(level = "warning") {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = { critical: 880, warning: 660, info: 520 }[level] || 660;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (level === "critical" ? 0.45 : 0.2));
  } catch {
    // no sound on this machine: the screen still shows it
  }
}
