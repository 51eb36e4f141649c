"""Operations the views offer: submit (stages reported as events) and the run handle (get,
latest, list, stop, definition). Views call these; they hold no run logic of their own."""
