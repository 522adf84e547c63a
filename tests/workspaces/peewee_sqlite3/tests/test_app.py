import unittest

from app import app


class NotesTest(unittest.TestCase):
    def test_list(self):
        response = app.test_client().get("/notes")
        self.assertEqual(response.status_code, 200)


if __name__ == "__main__":
    unittest.main()
