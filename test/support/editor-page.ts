/**
 * Driving Node-RED's editor in Chromium as a user does: drag a node from the palette,
 * open its edit dialog, add the config nodes it needs, deploy, import an example. Values
 * are typed into the dialog's own inputs; the checks read what the editor shows.
 */
import { Page } from 'playwright-core';

/** The editor's globals this file reads; only what is used here. */
export interface EditorNode {
  id: string;
  type: string;
  x: number;
  y: number;
  w: number;
  z: string;
  valid?: boolean;
  validationErrors?: string[];
  status?: { fill?: string; shape?: string; text?: string };
  _def: { category?: string; color?: string };
}

/** A select's value meaning "the first config node it offers", as a user picks an existing account or hub. */
export const FIRST_CONFIG = '<first config node>';

/** Values for a dialog: input id suffix (after node-input- or node-config-input-) or '#id' → value. */
export type DialogValues = Record<string, string>;

/** What a node type needs to be valid and running: its own values and the config nodes it creates on the way. */
export interface NodeFill {
  values?: DialogValues;
  /** Config properties to create through the dialog's pencil button, each with its config dialog's values. */
  configs?: Record<string, { values: DialogValues; nested?: Record<string, DialogValues> }>;
}

export async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#red-ui-palette .red-ui-palette-node[data-palette-type]', { timeout: 60_000 });
  // The editor is usable once its workspace and the node definitions are loaded.
  await page.waitForFunction(() => Boolean((window as unknown as { RED?: { nodes?: unknown } }).RED?.nodes), undefined, { timeout: 30_000 });
}

/** Drags a node type from the palette onto the workspace at (x, y) of the canvas and returns the new node's id. */
export async function dragFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  const before = await nodeIds(page, type);
  const paletteNode = page.locator(`#red-ui-palette .red-ui-palette-node[data-palette-type="${type}"]`);
  await paletteNode.scrollIntoViewIfNeeded();
  const from = await paletteNode.boundingBox();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!from || !chart) throw new Error(`${type} is not visible in the palette`);
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(chart.x + x, chart.y + y, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(
    ({ t, n }) => (window as unknown as { RED: { nodes: { filterNodes(f: object): unknown[] } } }).RED.nodes.filterNodes({ type: t }).length > n,
    { t: type, n: before.length },
  );
  const after = await nodeIds(page, type);
  const added = after.find((id) => !before.includes(id));
  if (!added) throw new Error(`dropping ${type} added no node`);
  return added;
}

async function nodeIds(page: Page, type: string): Promise<string[]> {
  return page.evaluate(
    (t) => (window as unknown as { RED: { nodes: { filterNodes(f: object): { id: string }[] } } }).RED.nodes.filterNodes({ type: t }).map((n) => n.id),
    type,
  );
}

/** Opens a node's edit dialog by double-clicking it on the canvas. */
export async function openEditDialog(page: Page, id: string): Promise<void> {
  await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).dblclick();
  await page.waitForSelector('#node-dialog-ok', { state: 'visible' });
  await trayAtRest(page);
}

/** Waits for the edit tray to finish sliding in: its left edge the same in two looks a frame apart. */
async function trayAtRest(page: Page): Promise<void> {
  const tray = page.locator('#red-ui-editor-stack .red-ui-tray').last();
  let last = Number.NaN;
  for (let look = 0; look < 50; look++) {
    const left = (await tray.boundingBox())?.x ?? Number.NaN;
    if (left === last) return;
    last = left;
    await page.waitForTimeout(50);
  }
}

/** Types values into the open dialog's inputs (`prefix` node-input or node-config-input); selects and checkboxes too. */
export async function fillDialog(page: Page, prefix: string, values: DialogValues): Promise<void> {
  for (const [field, value] of Object.entries(values)) {
    // A field of the node's own (its id after the prefix) or, given as '#id', an input of a custom control.
    const input = page.locator(field.startsWith('#') ? field : `#${prefix}-${field}`);
    const tag = await input.evaluate((el) => `${el.tagName.toLowerCase()}:${(el as HTMLInputElement).type}`);
    if (tag.startsWith('select') && value === FIRST_CONFIG) {
      const first = await input.evaluate((el) => Array.from((el as HTMLSelectElement).options).find((o) => o.value && o.value !== '_ADD_')?.value);
      if (!first) throw new Error(`#${prefix}-${field} offers no config node`);
      await input.selectOption(first);
    } else if (tag.startsWith('select')) await input.selectOption(value);
    else if (tag.endsWith(':checkbox')) await input.setChecked(value === 'true');
    else await input.fill(value);
  }
}

/**
 * Adds a config node through the pencil button next to `property` in the open dialog,
 * fills it (and config nodes it needs in turn) and confirms it.
 */
export async function addConfigNode(page: Page, prefix: string, property: string, values: DialogValues, nested: Record<string, DialogValues> = {}, check?: () => Promise<void>): Promise<void> {
  await page.locator(`#${prefix}-btn-${property}-add`).click();
  const okButton = page.locator('#node-config-dialog-ok').last();
  await okButton.waitFor({ state: 'visible' });
  for (const [inner, innerValues] of Object.entries(nested)) {
    await addConfigNode(page, 'node-config-input', inner, innerValues, {}, check);
  }
  await fillDialog(page, 'node-config-input', values);
  await check?.();
  await page.locator('#node-config-dialog-ok').last().click();
  await page.waitForFunction((p) => {
    const select = document.querySelector<HTMLSelectElement>(`#${p}`);
    return Boolean(select && select.value && select.value !== '_ADD_');
  }, `${prefix}-${property}`);
}

export async function closeDialog(page: Page): Promise<void> {
  await page.locator('#node-dialog-ok').click();
  await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
}

/** Deploys and waits for the editor's "deployed" notice; throws when the editor asks about invalid nodes instead. */
export async function deploy(page: Page): Promise<void> {
  // Notices stay a few seconds: mark the ones already shown so that this deploy is judged by its own.
  await page.evaluate(() => document.querySelectorAll('.red-ui-notification').forEach((n) => n.setAttribute('data-seen', 'true')));
  await page.locator('#red-ui-header-button-deploy').click();
  const notice = page.locator('.red-ui-notification-success:not([data-seen])');
  const invalid = page.locator('.red-ui-notification:not([data-seen])', { hasText: /Confirm deploy|确认部署/ });
  await notice.or(invalid).first().waitFor({ state: 'visible', timeout: 30_000 });
  if (await invalid.count()) throw new Error(`the editor refuses to deploy: ${await invalid.first().innerText()}`);
}

/** Every node of the workspace, as the editor holds it. */
export async function editorNodes(page: Page): Promise<EditorNode[]> {
  return page.evaluate(() => {
    const red = (window as unknown as { RED: { nodes: { eachNode(cb: (n: EditorNode) => void): void; eachConfig(cb: (n: EditorNode) => void): void } } }).RED;
    const nodes: EditorNode[] = [];
    const add = (n: EditorNode) => {
      nodes.push({ id: n.id, type: n.type, x: n.x, y: n.y, w: n.w, z: n.z, valid: n.valid, validationErrors: n.validationErrors, status: n.status, _def: { category: n._def.category, color: n._def.color } });
    };
    red.nodes.eachNode(add);
    red.nodes.eachConfig(add);
    return nodes;
  });
}

/** Every flow node with the size the editor draws it at: each tab is shown in turn, as the editor sizes a node when it first draws it. */
export async function drawnNodes(page: Page): Promise<EditorNode[]> {
  const tabs = await page.evaluate(() => {
    const red = (window as unknown as { RED: { nodes: { eachWorkspace(cb: (w: { id: string }) => void): void } } }).RED;
    const ids: string[] = [];
    red.nodes.eachWorkspace((w) => {
      ids.push(w.id);
    });
    return ids;
  });
  for (const tab of tabs) {
    await page.evaluate((id) => (window as unknown as { RED: { workspaces: { show(id: string): void } } }).RED.workspaces.show(id), tab);
    await page.waitForFunction(
      (id) => {
        const red = (window as unknown as { RED: { nodes: { filterNodes(f: object): { w?: number }[] } } }).RED;
        return red.nodes.filterNodes({ z: id }).every((n) => typeof n.w === 'number');
      },
      tab,
    );
  }
  return (await editorNodes(page)).filter((n) => n._def.category !== 'config');
}

/** Shows a node's help in the sidebar and returns its headings and text. */
export async function helpOf(page: Page, type: string): Promise<{ headings: string[]; text: string; clipped: string[] }> {
  await page.evaluate((t) => (window as unknown as { RED: { sidebar: { help: { show(type: string): void } } } }).RED.sidebar.help.show(t), type);
  // The help section is the one under the title naming the type (the palette label, hyphens as the palette shows them).
  const title = page.locator('h1.red-ui-help-title').filter({ hasText: new RegExp(`^${type.replace(/-/g, '(-|\u2011 ?)')}$`) });
  await title.waitFor({ state: 'visible' });
  return title.evaluate((heading) => {
    const help = heading.parentElement!;
    const clipped = Array.from(help.querySelectorAll<HTMLElement>('code, pre, dt, dd, p'))
      .filter((el) => el.getBoundingClientRect().right > help.getBoundingClientRect().right + 1)
      .map((el) => (el.textContent ?? '').slice(0, 60));
    return { headings: Array.from(help.querySelectorAll('h3')).map((h) => h.textContent ?? ''), text: help.innerText, clipped };
  });
}

/**
 * What in the open dialogs is cut off or wraps at their width: select options wider than
 * their select, labels that do not fit on one line. Rows hidden by the dialog's current
 * choices are shown for the measurement and hidden again.
 */
export async function cutOffTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const trays = Array.from(document.querySelectorAll<HTMLElement>('.red-ui-tray'));
    const tray = trays[trays.length - 1];
    const hidden = Array.from(tray.querySelectorAll<HTMLElement>('.form-row')).filter((row) => getComputedStyle(row).display === 'none');
    hidden.forEach((row) => (row.style.display = 'block'));
    const canvas = document.createElement('canvas').getContext('2d')!;
    for (const select of Array.from(tray.querySelectorAll<HTMLSelectElement>('.form-row select'))) {
      if (select.offsetWidth === 0) continue;
      const style = getComputedStyle(select);
      canvas.font = `${style.fontSize} ${style.fontFamily}`;
      // The room for text: the select's width less its padding and the arrow.
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
      for (const option of Array.from(select.options)) {
        if (canvas.measureText(option.text).width > room) found.push(`option "${option.text}" of #${select.id}`);
      }
    }
    for (const label of Array.from(tray.querySelectorAll<HTMLElement>('.form-row > label'))) {
      if (label.offsetWidth === 0 || !(label.textContent ?? '').trim()) continue;
      const lineHeight = parseFloat(getComputedStyle(label).lineHeight) || 20;
      if (label.scrollWidth > label.clientWidth + 1 || label.getBoundingClientRect().height > lineHeight * 1.5) {
        found.push(`label "${(label.textContent ?? '').trim()}" (for #${label.getAttribute("for") ?? ""})`);
      }
    }
    for (const tip of Array.from(tray.querySelectorAll<HTMLElement>('.form-tips'))) {
      if (tip.offsetWidth > 0 && tip.scrollWidth > tip.clientWidth + 1) found.push(`tip "${(tip.textContent ?? '').trim().slice(0, 40)}" is wider than its box`);
    }
    hidden.forEach((row) => (row.style.display = ''));
    return found;
  });
}

/** Imports an example of this package from Import › Examples into a new flow tab. */
export async function importExample(page: Page, moduleName: string, example: string): Promise<void> {
  await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(name: string): void } } }).RED.actions.invoke('core:show-examples-import-dialog'));
  const tree = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  await tree.waitFor({ state: 'visible' });
  const moduleRow = tree.locator('.red-ui-treeList-label', { hasText: moduleName }).first();
  const exampleRow = tree.locator('.red-ui-treeList-label', { hasText: new RegExp(`^\\s*${example}\\s*$`) }).first();
  if (!(await exampleRow.isVisible())) await moduleRow.click();
  // The dialog fetches the example once it is selected and enables Import when it has it;
  // a click during the tree's expansion can miss, so it is repeated until Import is enabled.
  const importButton = page.locator('#red-ui-clipboard-dialog-ok:not([disabled])');
  for (let attempt = 1; ; attempt++) {
    await exampleRow.click();
    try {
      await importButton.waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  await importButton.click();
  await page.waitForSelector('#red-ui-clipboard-dialog-ok', { state: 'hidden' });
  await keepSharedConfigNodes(page);
}

/**
 * When the example brings config nodes the workspace already has (the same id: the same
 * account or system), the editor asks; the user keeps the existing ones and imports the rest.
 * Returns the ids kept.
 */
async function keepSharedConfigNodes(page: Page): Promise<string[]> {
  const viewNodes = page.locator('.red-ui-notification button', { hasText: /View nodes|查看节点/ });
  try {
    await viewNodes.first().waitFor({ state: 'visible', timeout: 1500 });
  } catch {
    return [];
  }
  await viewNodes.first().click();
  const list = page.locator('#red-ui-clipboard-dialog-import-conflicts-list');
  await list.waitFor({ state: 'visible' });
  const kept = await list.evaluate((el) =>
    Array.from(el.querySelectorAll<HTMLInputElement>('input[type="checkbox"][data-node-id]'))
      .filter((box) => box.closest('.red-ui-clipboard-dialog-import-conflicts-controls') === null && box.disabled === false)
      .filter((box) => {
        const id = box.getAttribute('data-node-id') ?? '';
        const red = (window as unknown as { RED: { nodes: { node(id: string): unknown } } }).RED;
        return id.startsWith('wxbridge.') && Boolean(red.nodes.node(id));
      })
      .map((box) => {
        if (box.checked) box.click();
        return box.getAttribute('data-node-id') ?? '';
      }),
  );
  await page.locator('#red-ui-clipboard-dialog-import-conflict').click();
  await page.waitForSelector('#red-ui-clipboard-dialog-import-conflict', { state: 'hidden' });
  return kept;
}
