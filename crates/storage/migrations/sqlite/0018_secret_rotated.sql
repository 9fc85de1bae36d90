-- Who confirmed that a secret the card's commit text leaked was rotated (user:…): until
-- someone does, the card stays red whatever its posts say.
ALTER TABLE cards ADD COLUMN secret_rotated_by TEXT;
