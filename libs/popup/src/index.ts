export * from './render/index.ts'
export * from './rules/index.ts'
