/**
 * Cursor pagination as the API does it (`?cursor=&limit=` → `{ items, nextCursor }`): going
 * forward follows nextCursor; going back needs the cursors that led to each page, kept here.
 */
export class CursorTrail {
  /** The cursor of each page shown so far; the first page's is undefined. */
  private trail: Array<string | undefined> = [undefined]

  get current(): string | undefined {
    return this.trail[this.trail.length - 1]
  }
  get page(): number {
    return this.trail.length
  }
  get hasPrevious(): boolean {
    return this.trail.length > 1
  }
  forward(nextCursor: string): string {
    this.trail.push(nextCursor)
    return nextCursor
  }
  back(): string | undefined {
    if (this.trail.length > 1) this.trail.pop()
    return this.current
  }
  reset(): void {
    this.trail = [undefined]
  }
}
