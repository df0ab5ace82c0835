/** Managed datastores: PostgreSQL databases and Redis key-value stores. */
import { z } from "zod";
import { cron, duration, size } from "./fields.ts";

const allowFrom = z.array(z.string()).optional().describe("Services allowed to reach it (default: every service of the environment).");

const backups = z
  .union([
    z.literal(false),
    z.strictObject({
      schedule: z
        .union([z.enum(["hourly", "daily", "weekly"]), cron("Cron expression.")])
        .optional()
        .describe("When base backups run: hourly, daily (default, 03:00 UTC), weekly, or a cron expression."),
      keep: z
        .strictObject({
          daily: z.number().int().min(0).optional().describe("Daily backups kept (default 7)."),
          weekly: z.number().int().min(0).optional().describe("Weekly backups kept (default 4)."),
          monthly: z.number().int().min(0).optional().describe("Monthly backups kept (default 0)."),
        })
        .optional()
        .describe("Retention, grandfather-father-son."),
    }),
  ])
  .describe("Scheduled backups; `false` turns them off.");

export const database = z
  .strictObject({
    postgres: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional().describe("PostgreSQL major version, 14 to 18 (default 16, as on Render): the distribution's package when installed, else the server build from the npm registry. An existing database changes major only with `berth db upgrade`."),
    databaseName: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/).optional().describe("Database name (default: the resource name with dashes as underscores)."),
    user: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/).optional().describe("Owner role (default: same as databaseName)."),
    backups: backups.optional(),
    pitr: z.union([z.literal(false), duration("Point-in-time recovery window.")]).optional().describe("Point-in-time recovery window (WAL archiving), e.g. 7d; `false` turns it off (default 7d)."),
    pooled: z.boolean().optional().describe("Run a PgBouncer pool and publish `pooledConnectionString` (default: on when something references it)."),
    disk: size("Disk size for the data directory.").optional(),
    allowFrom,
  })
  .describe("A PostgreSQL database.");

export const keyValue = z
  .strictObject({
    redis: z.union([z.number().int(), z.string().regex(/^\d+(\.\d+)?$/)]).optional().describe("Redis major version (default 7)."),
    maxmemory: size("Memory limit; keys are evicted above it.").optional(),
    eviction: z
      .enum(["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
      .optional()
      .describe("Eviction policy when maxmemory is reached (default noeviction, right for queues)."),
    persistence: z.enum(["rdb", "aof", "none"]).optional().describe("rdb snapshots (default), aof (append-only file, for durable queues) or none (pure cache)."),
    allowFrom,
  })
  .describe("A Redis key-value store.");
