// The spinner under a sync's progress lines on a terminal. yocto-spinner draws it, hides the cursor
// while it spins, and clears it around every other write to stdout and stderr, so the progress lines
// print as they would without it; this adds how long the current action has taken.
import yoctoSpinner from 'yocto-spinner';

export class Spinner {
  private readonly spinner = yoctoSpinner({ stream: process.stderr });
  private text = '';
  private since = 0;
  private timer: NodeJS.Timeout | null = null;

  /** Spins with `text`; the time shown counts from when it started spinning. */
  show(text: string): void {
    this.text = text;
    if (this.spinner.isSpinning) {
      this.render();
      return;
    }
    this.since = Date.now();
    this.render(); // before start, which draws the text it holds
    this.spinner.start();
    this.timer = setInterval(() => {
      this.render();
    }, 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.spinner.isSpinning) this.spinner.stop();
  }

  private render(): void {
    const s = Math.floor((Date.now() - this.since) / 1000);
    this.spinner.text = s > 0 ? `${this.text} (${s} s)` : this.text;
  }
}
