-- A bucket's default storage class (a Weft extension, set with `weft bucket storage-class`): what a write that names
-- none is stored as. Null: the gateway's WEFT_DEFAULT_STORAGE_CLASS. Forward-only: never edit this file once applied.
alter table buckets add column default_storage_class text;
