// Finding and launching the headless Chromium the end-to-end tests drive with playwright-core.
// A missing browser fails the test with the way to install it: never a silent skip.
import { existsSync } from 'node:fs'
import process from 'node:process'
import { type Browser, chromium } from 'playwright-core'

/** Where Debian's `chromium` package puts the browser; CHROMIUM_PATH overrides it. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium'

/** The flags that run Chromium headless on a CI machine without a GPU or a sandbox helper. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * The Chromium executable: `CHROMIUM_PATH` when set, else /usr/bin/chromium.
 *
 * @throws {Error} Naming the path looked at and how to install the browser.
 */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at "${path}": the dashboard test needs a real browser. Install it ` +
        'with `apt-get install -y chromium` (.ci/run does this), or set CHROMIUM_PATH to a ' +
        'Chromium or Chrome executable',
    )
  }
  return path
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true })
}
