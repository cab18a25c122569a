import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Being built (issue 9). */
export const leadRoutes: FastifyPluginAsyncTypebox = async () => {}
