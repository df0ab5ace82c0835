/**
 * The secrets subsystem: keyring and envelope encryption, the secret store and env groups,
 * env resolution, sealed release envs and redaction. `server.ts` calls `openSecrets` once at
 * start-up (which refuses to start if the self-test fails) and passes the pieces down.
 */
export type { KekSource } from "./kek.ts";
export { BACKUP_WARNING, kekId, newKek, parseKeks } from "./kek.ts";
export { Keyring } from "./keyring.ts";
export type { DataKeyRecord, EnvGroupRecord, EnvGroupRows, ProjectRef, SecretOwner, SecretRecord, SecretRows } from "./ports.ts";
export type { NamedValue, RedactorOptions } from "./redact.ts";
export { Redactor, StreamRedactor } from "./redact.ts";
export type { EnvError, EnvErrorReason, EnvResolution, ResolvedServiceEnv, VarOrigin, WantedGenerated } from "./resolve.ts";
export { missingGenerated, requireResolved, resolveEnv } from "./resolve.ts";
export type { ReleaseEnvRequest, ReleaseEnvs } from "./release-env.ts";
export { prepareReleaseEnvs } from "./release-env.ts";
export type { DataKeyRotation, KekRotation, KekRotationStep } from "./rotation.ts";
export { rotateDataKey, rotateKek } from "./rotation.ts";
export type { Env, OpenedEnv, SealedRelease, SealScope } from "./seal.ts";
export { envOpener, openEnv, resealEnv, sealEnv } from "./seal.ts";
export type { OpenSecretsOptions, Secrets, SelfTestReport } from "./setup.ts";
export { openSecrets, selfTest } from "./setup.ts";
export type { AvailableValues, EnvResolutionInput, EnvSource, EnvVars, GeneratedEncoding, ServiceEnvDecl } from "./sources.ts";
export type { BlueprintEnvShape } from "./blueprint-input.ts";
export { envInputFromBlueprint } from "./blueprint-input.ts";
export type { OpenedSecrets, SecretListing, SecretRef } from "./store.ts";
export { ENV_NAME_PATTERN, generateSecretValue, SecretStore } from "./store.ts";
