class Node<T> {
  /** Text of the edge from the parent (empty only at the root). */
  label: string;
  parent: Node<T> | undefined;
  readonly children = new Map<number, Node<T>>();
  readonly items = new Set<T>();
  /** Summed weight of the items here. */
  own = 0;
  /** Heaviest path from here down: `own` plus the heaviest child's `peak`. */
  peak = 0;

  constructor(label: string, parent: Node<T> | undefined) {
    this.label = label;
    this.parent = parent;
  }
}

/**
 * Items filed under a text prefix (a radix tree: edges hold strings, so memory is linear in
 * the distinct prefixes). Answers "every item whose prefix starts this text" in time linear in
 * the text, and keeps for every path its summed weight, so a caller can refuse an item that
 * would make any one text reach too much weight.
 */
export class PrefixTree<T> {
  readonly #root = new Node<T>('', undefined);
  #size = 0;

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  /**
   * The weight of the heaviest set of items one text could reach, were `weight` added at
   * `prefix`: the items on the way to it, plus the heaviest path below it.
   */
  loadWith(prefix: string, weight: number): number {
    let node = this.#root;
    let sum = node.own;
    let i = 0;
    while (i < prefix.length) {
      const child = node.children.get(prefix.charCodeAt(i));
      if (!child) return sum + weight;
      const common = commonLength(child.label, prefix, i);
      if (common < child.label.length) {
        // `prefix` ends inside this edge: a new node would sit above `child`; else it diverges.
        return i + common === prefix.length ? sum + weight + child.peak : sum + weight;
      }
      node = child;
      sum += node.own;
      i += common;
    }
    return sum - node.own + node.peak + weight;
  }

  add(prefix: string, item: T, weight: number): void {
    const node = this.#nodeFor(prefix);
    if (node.items.has(item)) return;
    node.items.add(item);
    node.own += weight;
    this.#size++;
    this.#repeak(node);
  }

  remove(prefix: string, item: T, weight: number): void {
    let node = this.#find(prefix);
    if (!node || !node.items.delete(item)) return;
    node.own -= weight;
    this.#size--;
    // Empty leaves go; a node left with no items and one child merges into it, so the tree
    // never keeps more nodes than twice the prefixes it holds.
    while (node.parent && node.items.size === 0 && node.children.size <= 1) {
      const parent: Node<T> = node.parent;
      const only = node.children.values().next().value;
      if (only) {
        only.label = node.label + only.label;
        only.parent = parent;
        parent.children.set(node.label.charCodeAt(0), only);
      } else parent.children.delete(node.label.charCodeAt(0));
      node = parent;
    }
    this.#repeak(node);
  }

  /**
   * Calls `visit` for every item whose prefix starts `text`, shortest prefix first. Returns
   * the characters compared (at most `text.length + 1`).
   */
  forEachPrefixOf(text: string, visit: (item: T) => void): number {
    let node = this.#root;
    let steps = 1;
    let i = 0;
    for (;;) {
      for (const item of node.items) visit(item);
      if (i >= text.length) return steps;
      const child = node.children.get(text.charCodeAt(i));
      if (!child) return steps;
      // Comparing stops at the end of the text: at most one step per character overall.
      steps += Math.min(child.label.length, text.length - i);
      if (!text.startsWith(child.label, i)) return steps;
      i += child.label.length;
      node = child;
    }
  }

  #find(prefix: string): Node<T> | undefined {
    let node = this.#root;
    let i = 0;
    while (i < prefix.length) {
      const child = node.children.get(prefix.charCodeAt(i));
      if (!child || !prefix.startsWith(child.label, i)) return undefined;
      node = child;
      i += child.label.length;
    }
    return node;
  }

  #nodeFor(prefix: string): Node<T> {
    let node = this.#root;
    let i = 0;
    while (i < prefix.length) {
      const code = prefix.charCodeAt(i);
      const child = node.children.get(code);
      if (!child) {
        const leaf = new Node<T>(prefix.slice(i), node);
        node.children.set(code, leaf);
        return leaf;
      }
      const common = commonLength(child.label, prefix, i);
      if (common < child.label.length) {
        const mid = new Node<T>(child.label.slice(0, common), node);
        node.children.set(code, mid);
        child.label = child.label.slice(common);
        child.parent = mid;
        mid.children.set(child.label.charCodeAt(0), child);
        mid.peak = child.peak;
        node = mid;
      } else node = child;
      i += common;
    }
    return node;
  }

  /** Recomputes `peak` from `node` up to the root, stopping where nothing changes. */
  #repeak(from: Node<T>): void {
    for (let node: Node<T> | undefined = from; node; node = node.parent) {
      let heaviest = 0;
      for (const child of node.children.values()) if (child.peak > heaviest) heaviest = child.peak;
      const peak = node.own + heaviest;
      if (peak === node.peak && node !== from) return;
      node.peak = peak;
    }
  }
}

function commonLength(label: string, text: string, at: number): number {
  let j = 0;
  while (j < label.length && at + j < text.length && label.charCodeAt(j) === text.charCodeAt(at + j)) j++;
  return j;
}
