-- A part's layout as json, in one place (issue 5). The read path of GET and HEAD used to build every version's parts
-- json with two nested subqueries, whose plan nodes PostgreSQL sets up on every execution even when the object is
-- one inline part and there is nothing to aggregate: ~40 µs of a small GET's ~150. As functions, that work is done
-- only when they are called, which the lookup does only for objects that are not inline.
create function weft_part_json(p parts) returns json
language sql stable as $$
  select json_build_object(
    'partNumber', p.part_number, 'size', p.size, 'etag', p.etag, 'unit', p.unit, 'k', p.k, 'm', p.m,
    'checksumAlgorithm', p.checksum_algorithm, 'checksumValue', p.checksum_value,
    'committedAt', p.committed_at,
    'datafiles', coalesce((
      select json_agg(json_build_object(
        'slot', d.slot, 'ioserverId', d.ioserver_id, 'blobId', d.blob_id, 'length', d.length, 'crc32c', d.crc32c
      ) order by d.slot)
      from datafiles d where d.part_id = p.id), '[]'::json))
$$;

-- The parts of a committed version, by part number, each as weft_part_json.
create function weft_version_parts_json(p_version_row_id bigint) returns json
language sql stable as $$
  select coalesce(json_agg(weft_part_json(p) order by p.part_number), '[]'::json)
  from parts p where p.version_row_id = p_version_row_id
$$;
