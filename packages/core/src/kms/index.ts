export {
  CONTENT_ENCODING_KEY,
  createKmsCrypto,
  DEFAULT_KMS_CACHE,
  type DecryptResult,
  type EncryptMode,
  type EncryptOptions,
  type EncryptResult,
  KMS_ENCRYPT_MAX_BYTES,
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
  type EsdkHeaderInfo,
  encodeCiphertext,
  esdkHeader,
} from './format.js';
