-- Terminal access: how restrictions reach a terminal (deny mode), what a check without a
-- verified PIN shows, and the terminal generation every server instance watches to end the
-- sessions of a terminal that was disabled, removed or changed. Keep in step with the other
-- backend's 0002_terminal_access.sql.

ALTER TABLE terminals ADD COLUMN restricted TEXT NOT NULL DEFAULT 'flags'
    CHECK (restricted IN ('flags', 'deny'));
ALTER TABLE terminals ADD COLUMN denied_restrictions TEXT NOT NULL DEFAULT 'expired,blocked,lost';
ALTER TABLE terminals ADD COLUMN detail_without_pin TEXT NOT NULL DEFAULT 'minimal'
    CHECK (detail_without_pin IN ('minimal', 'full'));

-- One row: raised by every change to a terminal that open sessions must see.
CREATE TABLE terminal_generation (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO terminal_generation (id, generation) VALUES (1, 0);
