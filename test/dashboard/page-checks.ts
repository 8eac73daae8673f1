import type { Page } from 'playwright-core';

/** A text on the page whose contrast is below the bar. */
export interface LowContrast {
  what: string;
  text: string;
  fg: string;
  bg: string;
  ratio: number;
}

/**
 * WCAG 2 contrast of every visible text on the page against its effective background (the
 * element's and its ancestors' backgrounds composited, the page's canvas under them), computed
 * from the browser's computed colours: HTML text (an element with a text node of its own, form
 * fields with their value), SVG text (its fill), and the uPlot charts' axis labels and ticks, from
 * the colours the chart is configured with (a canvas has no computed style). Disabled controls are
 * exempt (WCAG 1.4.3). Returns those below `min` and how many were checked.
 */
export async function lowContrast(page: Page, min = 4.5): Promise<{ checked: number; low: LowContrast[] }> {
  return page.evaluate((minRatio) => {
    const g = globalThis as any;
    const doc = g.document;
    const ctx = doc.createElement('canvas').getContext('2d');
    /** Any CSS colour as [r, g, b, a] (0..255, a 0..1), through a canvas so every syntax the browser knows works. */
    const rgba = (css: string): [number, number, number, number] => {
      const m = /^rgba?\(([^)]+)\)$/.exec(css.trim());
      if (m) {
        const p = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
        return [p[0]!, p[1]!, p[2]!, p[3] ?? 1];
      }
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = '#000';
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const d = ctx.getImageData(0, 0, 1, 1).data;
      return [d[0], d[1], d[2], d[3] / 255];
    };
    const over = (top: number[], under: number[]) => [0, 1, 2].map((i) => top[i]! * top[3]! + under[i]! * (1 - top[3]!)).concat(1);
    const lum = (c: number[]) => {
      const l = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * l[0]! + 0.7152 * l[1]! + 0.0722 * l[2]!;
    };
    const ratio = (a: number[], b: number[]) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x! + 0.05) / (y! + 0.05);
    };
    const dark = g.matchMedia('(prefers-color-scheme: dark)').matches;
    const canvasColour = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];
    const background = (el: any): number[] => {
      const layers: number[][] = [];
      for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
        const c = rgba(g.getComputedStyle(e).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      let bg = canvasColour;
      for (const c of layers.reverse()) bg = over(c, bg);
      return bg;
    };
    const visible = (el: any) => {
      if (!el.getClientRects().length) return false;
      const cs = g.getComputedStyle(el);
      return cs.visibility !== 'hidden' && Number(cs.opacity) > 0;
    };
    const show = (c: number[]) => `rgb(${c.slice(0, 3).map(Math.round).join(', ')})`;
    const low: any[] = [];
    let checked = 0;
    const check = (what: string, text: string, fgCss: string, bg: number[]) => {
      const fg = over(rgba(fgCss), bg);
      const r = ratio(fg, bg);
      checked++;
      if (r < minRatio) low.push({ what, text: text.slice(0, 60), fg: show(fg), bg: show(bg), ratio: Math.round(r * 100) / 100 });
    };
    const describe = (el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}${el.dataset?.field ? `[data-field=${el.dataset.field}]` : ''}`;

    for (const el of doc.querySelectorAll('body *')) {
      if (!visible(el) || el.closest('[disabled]') || el.tagName === 'OPTION' || el.tagName === 'SCRIPT') continue;
      const own = [...el.childNodes].filter((n: any) => n.nodeType === 3).map((n: any) => n.textContent.trim()).join(' ').trim();
      const field = ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && el.type !== 'hidden' && el.type !== 'checkbox' && el.type !== 'radio' && el.type !== 'range' ? String(el.value ?? '') : '';
      if (!own && !field) continue;
      const cs = g.getComputedStyle(el);
      const svg = el instanceof g.SVGElement;
      check(describe(el), own || field, svg ? cs.fill : cs.color, background(svg ? el.ownerSVGElement.parentElement : el));
    }

    // uPlot draws on a canvas: the colours its axes are configured with, against the chart's background.
    const plots: any[] = [];
    const st = g.eval('state');
    for (const c of st.curves.values()) if (c.plot && c.plot.root.isConnected) plots.push(c.plot);
    for (const p of g.eval('typeof pagePlots === "function" ? pagePlots() : []')) plots.push(p);
    for (const u of plots) {
      const bg = background(u.root);
      u.axes.forEach((a: any, i: number) => {
        if (a.show === false) return;
        const val = (x: any) => (typeof x === 'function' ? x(u, i) : x);
        check(`uPlot axis ${i} labels`, 'axis', val(a.stroke), bg);
        if (a.ticks?.show !== false) check(`uPlot axis ${i} ticks`, 'ticks', val(a.ticks.stroke), bg);
      });
    }
    return { checked, low };
  }, min);
}

/**
 * Elements reaching past the viewport's sides, unless inside a container that scrolls sideways
 * (overflow-x auto/scroll) and says so (data-scroll-hint shown). Also whether the page itself scrolls sideways.
 */
export async function tooWide(page: Page): Promise<{ pageScrollsSideways: boolean; elements: string[] }> {
  return page.evaluate(() => {
    const g = globalThis as any;
    const doc = g.document;
    const width = doc.documentElement.clientWidth;
    const out: string[] = [];
    const inHintedScroller = (el: any) => {
      for (let e = el.parentElement; e; e = e.parentElement) {
        const o = g.getComputedStyle(e).overflowX;
        if (o === 'auto' || o === 'scroll') {
          const hint = e.parentElement?.querySelector(':scope > [data-scroll-hint]');
          return Boolean(hint && hint.getClientRects().length);
        }
      }
      return false;
    };
    for (const el of doc.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width || (r.right <= width + 0.5 && r.left >= -0.5)) continue;
      if (inHintedScroller(el)) continue;
      out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}: ${Math.round(r.left)}..${Math.round(r.right)} px (viewport ${width})`);
    }
    return { pageScrollsSideways: doc.documentElement.scrollWidth > width, elements: out.slice(0, 20) };
  });
}
