/**
 * The project catalogue's schema, as an ordered list of migrations. `PRAGMA user_version` records how many
 * have run; opening a project runs the missing ones in one transaction, and refuses a database made by a
 * newer Clearsky (more migrations than this build knows) rather than guess at it.
 *
 * Paths in the catalogue are relative to the project folder, so a project can be moved or copied whole.
 * JSON columns hold small structured values (band lists, grids, parameters) that are read whole.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE project (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  -- Imagery: Sentinel-2 (L1C/L2A) and Sentinel-1 scenes, converted into rasters/ as tiled COGs.
  CREATE TABLE scenes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    source_path TEXT,
    sensor TEXT NOT NULL CHECK (sensor IN ('S2', 'S1')),
    level TEXT,
    acquired TEXT,
    bands TEXT NOT NULL,
    grid TEXT NOT NULL,
    data_type TEXT NOT NULL,
    nodata REAL,
    cloud_cover REAL,
    imported_at TEXT NOT NULL
  );

  -- Multi-temporal references: imported, or built from scenes of the project (static mean / dynamic).
  CREATE TABLE refs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL CHECK (method IN ('imported', 'static', 'dynamic')),
    date TEXT,
    bands TEXT NOT NULL,
    grid TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE ref_scenes (
    ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
    scene_id INTEGER NOT NULL REFERENCES scenes(id) ON DELETE RESTRICT,
    PRIMARY KEY (ref_id, scene_id)
  );

  -- Cloud masks (1 = cloud): imported binary, from SCL or cloud probability, or drawn; versions per scene.
  CREATE TABLE masks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    band INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL CHECK (source IN ('binary', 'scl', 'probability', 'drawn')),
    scene_id INTEGER REFERENCES scenes(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    parameters TEXT NOT NULL DEFAULT '{}',
    grid TEXT NOT NULL,
    cloud_cover REAL,
    outline_file TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (file, band)
  );

  -- A reconstruction: its inputs, parameters and state. Tiles are its unit of work and of resumption.
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT,
    target_scene_id INTEGER NOT NULL REFERENCES scenes(id) ON DELETE RESTRICT,
    mask_id INTEGER NOT NULL REFERENCES masks(id) ON DELETE RESTRICT,
    ref_id INTEGER REFERENCES refs(id) ON DELETE RESTRICT,
    sar_scene_id INTEGER REFERENCES scenes(id) ON DELETE RESTRICT,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'mosaicking', 'done', 'partial', 'failed', 'cancelled')),
    backend TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  CREATE TABLE tiles (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    x INTEGER NOT NULL,
    y INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'clear')),
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    result_file TEXT,
    loss REAL,
    seconds REAL,
    metrics TEXT,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
  );
  CREATE INDEX tiles_by_status ON tiles(run_id, status);

  -- What a run produced, as map layers.
  CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('reconstruction', 'uncertainty', 'mask', 'outline')),
    file TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (run_id, kind)
  );
  `,
  // 2: where imported rasters came from (to recognise a file imported twice, by content), S1 units, the
  // acquisition day of a mask (to link it to its scene) and the SCL / probability raster a mask was made from.
  `
  ALTER TABLE scenes ADD COLUMN units TEXT;
  ALTER TABLE scenes ADD COLUMN source_sha256 TEXT;
  ALTER TABLE refs ADD COLUMN source_path TEXT;
  ALTER TABLE refs ADD COLUMN source_sha256 TEXT;
  ALTER TABLE masks ADD COLUMN source_path TEXT;
  ALTER TABLE masks ADD COLUMN source_sha256 TEXT;
  ALTER TABLE masks ADD COLUMN source_file TEXT;
  ALTER TABLE masks ADD COLUMN acquired TEXT;
  CREATE INDEX scenes_by_source ON scenes(source_sha256);
  CREATE INDEX refs_by_source ON refs(source_sha256);
  CREATE INDEX masks_by_source ON masks(source_sha256);
  `,
  // 3: a ground-truth run's scores (the tiles' already have a column).
  `
  ALTER TABLE runs ADD COLUMN metrics TEXT;
  `,
  // 4: one owner per run: the process working it (host:pid:random, jobs/lease.ts) and when it last said it
  // still does. Taken and checked in transactions; a run whose owner stopped beating is taken over.
  `
  ALTER TABLE runs ADD COLUMN owner TEXT;
  ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
  `,
  // 5: masks found by Clearsky's own detector (source 'detected'). SQLite cannot widen a CHECK in place, so
  // the table is rebuilt as SQLite's ALTER TABLE page prescribes (new table, copy, drop, rename; migrate()
  // turns foreign keys off around it and checks them before committing). Ids are kept, so runs still match.
  `
  CREATE TABLE masks_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    band INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL CHECK (source IN ('binary', 'scl', 'probability', 'drawn', 'detected')),
    scene_id INTEGER REFERENCES scenes(id) ON DELETE SET NULL,
    version INTEGER NOT NULL DEFAULT 1,
    parameters TEXT NOT NULL DEFAULT '{}',
    grid TEXT NOT NULL,
    cloud_cover REAL,
    outline_file TEXT,
    created_at TEXT NOT NULL,
    source_path TEXT,
    source_sha256 TEXT,
    source_file TEXT,
    acquired TEXT,
    UNIQUE (file, band)
  );
  INSERT INTO masks_new (id, name, file, band, source, scene_id, version, parameters, grid, cloud_cover, outline_file, created_at, source_path, source_sha256, source_file, acquired)
    SELECT id, name, file, band, source, scene_id, version, parameters, grid, cloud_cover, outline_file, created_at, source_path, source_sha256, source_file, acquired FROM masks;
  DROP TABLE masks;
  ALTER TABLE masks_new RENAME TO masks;
  CREATE INDEX masks_by_source ON masks(source_sha256);
  `,
  // 6: scale-out (jobs/queue/): the project's own id, stable for its life, names its runs on a shared queue
  // (runKey <uid>:<run id>) so an owner that restarts finds its tiles again; and the queue the project's runs
  // may be sent to (a redis:// URL, possibly with a password: the API only ever shows it redacted).
  `
  ALTER TABLE project ADD COLUMN uid TEXT;
  ALTER TABLE project ADD COLUMN queue_url TEXT;
  UPDATE project SET uid = lower(hex(randomblob(8))) WHERE uid IS NULL;
  `,
  // 7: a quality signal without ground truth: each finished tile's loss curve per seed (JSON, at most 200
  // points a seed: dip/loss-curve.ts) and the median of the seeds' spread under its mask (digital numbers).
  `
  ALTER TABLE tiles ADD COLUMN spread REAL;
  ALTER TABLE tiles ADD COLUMN curves TEXT;
  `,
  // 8: where a scene's cloud cover came from ('metadata', 'mask' of its day, or 'detected' by the cloud
  // detector), so a mask imported later replaces a detected estimate but never a mask's or the file's own.
  `
  ALTER TABLE scenes ADD COLUMN cloud_cover_source TEXT;
  UPDATE scenes SET cloud_cover_source = CASE
    WHEN cloud_cover IS NULL THEN NULL
    WHEN EXISTS (SELECT 1 FROM masks WHERE masks.scene_id = scenes.id AND masks.cloud_cover = scenes.cloud_cover) THEN 'mask'
    ELSE 'metadata' END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
