// The transaction simulator behind `vigil gen`.
