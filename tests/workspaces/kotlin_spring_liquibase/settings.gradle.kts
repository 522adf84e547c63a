rootProject.name = "fleet"
