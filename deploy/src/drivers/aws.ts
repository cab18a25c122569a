export class AwsDriver {
  constructor(_c: unknown) {
    throw new Error('not yet')
  }
}
