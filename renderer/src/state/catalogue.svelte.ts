/**
 * The open project's catalogue as the page shows it: the project, its scenes, references and masks, what is
 * chosen (scene, mask, references shown), and the app's error line. `refresh` reloads it all from the API
 * (the runs too, into the runs state).
 */
import type { ApiEvent, ClearskyApi, ItemKind, MaskRecord, ProjectInfo, RefRecord, SceneRecord } from '../../../native/api/contract.ts';
import { call } from '../tools/api-call.ts';
import type { RunsState } from './runs.svelte.ts';

/** The mask to choose with a newly chosen scene: the one chosen stays if it is on the scene's grid, else the scene's own (newest version). */
export function maskForScene(scene: SceneRecord, chosen: MaskRecord | null, masks: readonly MaskRecord[]): MaskRecord | null {
  if (chosen && chosen.grid.width === scene.grid.width && chosen.grid.height === scene.grid.height) return chosen;
  return masks.filter((m) => m.sceneId === scene.id).sort((a, b) => b.version - a.version)[0] ?? null;
}

export class CatalogueState {
  /** Whether the first answer about the project has come. */
  loaded = $state(false);
  project = $state<ProjectInfo | null>(null);
  scenes = $state<SceneRecord[]>([]);
  refs = $state<RefRecord[]>([]);
  masks = $state<MaskRecord[]>([]);
  selected = $state<SceneRecord | null>(null);
  selectedMask = $state<MaskRecord | null>(null);
  shownRefIds = $state<number[]>([]);
  /** The last failure of a call made for the app as a whole (shown in the header). */
  error = $state<string | null>(null);

  readonly sarScenes = $derived(this.scenes.filter((s) => s.sensor === 'S1'));

  readonly #api: ClearskyApi;
  readonly #runs: RunsState;

  constructor(api: ClearskyApi, runs: RunsState) {
    this.#api = api;
    this.#runs = runs;
  }

  async refresh(): Promise<void> {
    const api = this.#api;
    const info = await call(api, 'project');
    this.loaded = true;
    if (!info.ok) {
      this.error = info.error;
      return;
    }
    this.project = info.value;
    if (!this.project) return;
    const [s, r, m, runList] = await Promise.all([call(api, 'listScenes'), call(api, 'listRefs'), call(api, 'listMasks'), call(api, 'listRuns')]);
    for (const outcome of [s, r, m, runList]) if (!outcome.ok) this.error = outcome.error;
    if (s.ok) this.scenes = s.value;
    if (r.ok) this.refs = r.value;
    if (m.ok) this.masks = m.value;
    if (runList.ok) this.#runs.replace(runList.value);
    const { selected, selectedMask } = this;
    if (selected) this.selected = this.scenes.find((scene) => scene.id === selected.id) ?? null;
    if (selectedMask) this.selectedMask = this.masks.find((mask) => mask.id === selectedMask.id) ?? selectedMask;
  }

  /**
   * Follows the imports going on (tasks named "Import …", from the dialog or the File menu): each file done (a
   * new step: the next file) and each import's end shows in the catalogue at once.
   */
  followImports(event: ApiEvent): void {
    if (event.type !== 'task' || !event.label.startsWith('Import ')) return;
    const before = this.#importSteps.get(event.taskId);
    if (event.state !== 'running') this.#importSteps.delete(event.taskId);
    else this.#importSteps.set(event.taskId, event.step);
    if (event.state !== 'running' || (before !== undefined && before !== event.step)) void this.refresh();
  }
  /** The step each import going on is at, by task id. */
  readonly #importSteps = new Map<string, string>();

  /** Chooses a scene, and the mask that goes with it (`maskForScene`). */
  choose(scene: SceneRecord): void {
    this.selected = scene;
    this.selectedMask = maskForScene(scene, this.selectedMask, this.masks);
  }

  /** A new name for a scene, mask or reference, asked for in place of the old one. */
  async rename(kind: Exclude<ItemKind, 'run'>, item: { id: number; name: string }): Promise<void> {
    const name = window.prompt(`New name for the ${kind} "${item.name}" (its file keeps its name):`, item.name);
    if (name === null || name.trim() === '' || name.trim() === item.name) return;
    const outcome = await call(this.#api, 'renameItem', { kind, id: item.id, name });
    if (!outcome.ok) this.error = outcome.error;
    await this.refresh();
  }

  /**
   * Deletes a scene, mask or reference after saying what depends on it: while runs or references use it, what
   * they are and that they go first; else what stays (masks linked to a scene stay, unlinked) and a confirmation.
   */
  async remove(kind: Exclude<ItemKind, 'run'>, item: { id: number; name: string }): Promise<void> {
    const asked = await call(this.#api, 'dependents', { kind, id: item.id });
    if (!asked.ok) {
      this.error = asked.error;
      return;
    }
    const { runs, references, masks } = asked.value;
    const blocking = [runs.length ? `run${runs.length === 1 ? '' : 's'} ${runs.map((id) => `#${id}`).join(', ')}` : null, references.length ? `reference${references.length === 1 ? '' : 's'} ${references.join(', ')}` : null].filter(Boolean);
    if (blocking.length) {
      this.error = `The ${kind} "${item.name}" is used by ${blocking.join(' and ')}: delete ${runs.length + references.length === 1 ? 'it' : 'them'} first.`;
      return;
    }
    const stays = masks.length ? ` Its ${masks.length} mask${masks.length === 1 ? '' : 's'} stay${masks.length === 1 ? 's' : ''}, unlinked.` : '';
    if (!window.confirm(`Delete the ${kind} "${item.name}" and its file from the project?${stays}`)) return;
    const outcome = await call(this.#api, 'deleteItem', { kind, id: item.id });
    if (!outcome.ok) {
      this.error = outcome.error;
      return;
    }
    this.error = null;
    if (kind === 'scene' && this.selected?.id === item.id) this.selected = null;
    if (kind === 'mask' && this.selectedMask?.id === item.id) this.selectedMask = null;
    if (kind === 'reference') this.shownRefIds = this.shownRefIds.filter((id) => id !== item.id);
    await this.refresh();
  }

  /** Dates an undated scene (`setSceneDate`); null, or why not. */
  async setDate(scene: SceneRecord, date: string): Promise<string | null> {
    const outcome = await call(this.#api, 'setSceneDate', { sceneId: scene.id, date });
    if (!outcome.ok) return outcome.error;
    this.scenes = this.scenes.map((s) => (s.id === scene.id ? outcome.value : s));
    if (this.selected?.id === scene.id) this.selected = outcome.value;
    // Masks of that day on its grid were linked to it: list them as they are now.
    const masks = await call(this.#api, 'listMasks');
    if (masks.ok) this.masks = masks.value;
    return null;
  }

  toggleRef(ref: RefRecord): void {
    const shown = this.shownRefIds;
    this.shownRefIds = shown.includes(ref.id) ? shown.filter((id) => id !== ref.id) : [...shown, ref.id];
  }

  /** A reference just built: listed, and shown. */
  addRef(ref: RefRecord): void {
    this.refs = [...this.refs.filter((r) => r.id !== ref.id), ref];
    this.shownRefIds = [...this.shownRefIds, ref.id];
  }

  /** A mask just saved (a new mask or a new version): listed first, and chosen. */
  maskSaved(mask: MaskRecord): void {
    this.masks = [mask, ...this.masks.filter((m) => m.id !== mask.id)];
    this.selectedMask = mask;
  }

  /** Another project is open: nothing chosen in the last one applies. */
  opened(info: ProjectInfo): void {
    this.project = info;
    this.error = null;
    this.selected = null;
    this.selectedMask = null;
    this.shownRefIds = [];
  }
}
