SELECT ${unknown};
-- comment ; with semicolon
INSERT INTO t VALUES ('a;b', "q;"); ;; 
/* block ; */ SELECT 1