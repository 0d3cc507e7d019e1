export {
  createKmsCrypto,
  DEFAULT_KMS_CACHE,
  type DecryptResult,
  type EncryptMode,
  type EncryptOptions,
  type EncryptResult,
  type KmsCacheOptions,
  KmsCrypto,
  type KmsCryptoOptions,
  kmsReference,
  type ReEncryptOptions,
} from './crypto.js';
export {
  type CiphertextFormat,
  contextMismatch,
  decodeCiphertext,
  detectFormat,
  esdkHeader,
} from './format.js';
