/**
 * Assembles the dashboard page once per process, on its first request: uPlot's IIFE build and
 * stylesheet, resolved from the installed `uplot` dependency, and our compiled browser scripts
 * are inlined, so the page needs nothing from any other origin, nor a second request for code.
 * @internal
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { renderPage } from './html.js';

/** The browser scripts, in load order (each is a classic script sharing the page's scope). */
const CLIENT_SCRIPTS = ['format.js', 'history.js', 'charts.js', 'view.js', 'main.js'];

/** The assembled page and the Content-Security-Policy that allows exactly its scripts. */
export interface DashboardPage {
  html: string;
  csp: string;
}

let page: Promise<DashboardPage> | undefined;

/** The page, built on first use and kept (a failed build is retried on the next request). */
export function dashboardPage(): Promise<DashboardPage> {
  page ??= buildPage().catch((error: unknown) => {
    page = undefined;
    throw error;
  });
  return page;
}

async function buildPage(): Promise<DashboardPage> {
  const require = createRequire(import.meta.url);
  const [uplotJs, uplotCss, ...client] = await Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    ...CLIENT_SCRIPTS.map((name) => readFile(new URL(`./client/${name}`, import.meta.url), 'utf8')),
  ]);
  // A literal "</script" inside a script would end the element early.
  const scripts = [uplotJs, ...client].map((script) => script.replace(/<\/(script)/gi, '<\\/$1'));
  const hashes = scripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
  return {
    html: renderPage({ uplotCss, scripts }),
    csp: [
      "default-src 'none'",
      `script-src ${hashes.join(' ')}`,
      // uPlot sizes and positions its elements with inline styles.
      "style-src 'unsafe-inline'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; '),
  };
}
