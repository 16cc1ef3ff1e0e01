// A binary min-heap of things by when they are due: one timer armed for the earliest serves them
// all (thousands of logins waiting on phones would otherwise each hold a timer of their own).
export class DueHeap<T extends { dueAt: number }> {
  private items: T[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.dueAt <= item.dueAt) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = item;
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.dueAt < a[l]!.dueAt ? r : l;
      if (a[c]!.dueAt >= last.dueAt) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
  clear(): void {
    this.items = [];
  }
}
